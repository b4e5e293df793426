/** Runs `ladder serve` as a child process, the way a user does. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
// Resolved here, so that the CLI can run in another working directory.
const tsx = import.meta.resolve('tsx');

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** Everything the process printed on stdout so far. */
  output(): string;
  /** Everything the process printed on stderr so far. */
  errors(): string;
  /** Resolves with the exit code (or signal) once the process has ended. */
  readonly exited: Promise<number | NodeJS.Signals>;
}

export function runCli(
  args: string[],
  /** undefined unsets a variable of this process's environment. */
  env: Record<string, string | undefined>,
  options: { cwd?: string } = {},
): { child: ChildProcess; output: () => string; errors: () => string; exited: Promise<number | NodeJS.Signals> } {
  const child = spawn(process.execPath, ['--import', tsx, cli, ...args], {
    cwd: options.cwd,
    env: { ...process.env, LADDER_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | NodeJS.Signals>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code ?? 0)));
  return { child, output: () => stdout, errors: () => stderr, exited };
}

/** Starts `ladder serve` on a free port and waits until it listens. */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  // The listening URL comes from an info-level log line.
  const run = runCli(['serve'], { LADDER_PORT: '0', ...env, LADDER_LOG_LEVEL: 'info' });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${run.output()}\n${run.errors()}`)), 60_000);
    const onData = () => {
      const match = /"url":"(http:[^"]+)"/.exec(run.output());
      if (match) {
        clearTimeout(timer);
        run.child.stdout?.off('data', onData);
        resolve(match[1] as string);
      }
    };
    run.child.stdout?.on('data', onData);
    void run.exited.then((code) => reject(new Error(`server exited with ${code}:\n${run.output()}\n${run.errors()}`)));
  });
  return { child: run.child, url, output: run.output, errors: run.errors, exited: run.exited };
}
