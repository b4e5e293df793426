/**
 * A startup failure as the one line the CLI prints. The causes a user can fix
 * by configuration name the variable to change; any other error is its
 * message (other layers write theirs to name their variable, such as
 * LADDER_DATA_DIR).
 */
import type { Config } from './core/config.js';

type SystemError = NodeJS.ErrnoException & { hostname?: string; address?: string; port?: number };

export function startupErrorMessage(err: unknown, config: Pick<Config, 'host' | 'port'> | null): string {
  if (!(err instanceof Error)) return oneLine(String(err));
  const { code, syscall, hostname, address, port } = err as SystemError;
  if (config !== null && syscall === 'listen') {
    const host = address ?? config.host;
    const where = `${host.includes(':') ? `[${host}]` : host}:${port ?? config.port}`;
    if (code === 'EADDRINUSE') return `cannot listen on ${where}: the port is in use (set LADDER_PORT to another port, or 0 for a free one)`;
    if (code === 'EACCES') return `cannot listen on ${where}: ports below 1024 need privileges (set LADDER_PORT to 1024 or above, or 0 for a free one)`;
    if (code === 'EADDRNOTAVAIL') return `cannot listen on host '${config.host}' (LADDER_HOST): ${host} is not an address of this machine`;
  }
  if (config !== null && syscall === 'getaddrinfo' && (hostname === undefined || hostname === config.host)) {
    if (code === 'ENOTFOUND' || code === 'EAI_NONAME') return `cannot listen on host '${config.host}' (LADDER_HOST): the name does not resolve`;
    if (code === 'EAI_AGAIN') return `cannot listen on host '${config.host}' (LADDER_HOST): the name could not be resolved now (no answer from DNS)`;
  }
  return oneLine(err.message);
}

function oneLine(message: string): string {
  return message.trim().replace(/\s*\n\s*/g, ' ');
}
