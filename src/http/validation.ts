/**
 * Ajv set up the way the v1 API wants it: bodies are strict (no type
 * coercion, no silently removed fields), query strings and path parameters
 * are coerced from text. Every failure names its field.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';
import { LadderError } from '../core/errors.js';

const strict = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
const coercing = new Ajv({ coerceTypes: true, useDefaults: true, removeAdditional: false, allErrors: false, strict: false });

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? strict : coercing;
  return ajv.compile(schema as object);
};

export function compileStrict<T>(schema: object): ValidateFunction<T> {
  return strict.compile<T>(schema);
}

/** `scores[3].participant_id` style path of the field an Ajv error is about. */
export function fieldOf(error: ErrorObject, prefix = ''): string {
  const parts = error.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (error.keyword === 'required') parts.push(String(error.params.missingProperty));
  if (error.keyword === 'additionalProperties') parts.push(String(error.params.additionalProperty));
  let path = prefix;
  for (const part of parts) path += /^\d+$/.test(part) ? `[${part}]` : path === '' ? part : `.${part}`;
  return path === '' ? 'body' : path;
}

/** Turns the first Ajv error into a 400 that names the field. */
export function validationError(errors: ErrorObject[] | null | undefined, prefix = ''): LadderError {
  const error = errors?.[0];
  if (!error) return new LadderError('invalid_request', 'invalid request');
  const field = fieldOf(error, prefix);
  let problem: string;
  switch (error.keyword) {
    case 'required':
      problem = 'is required';
      break;
    case 'additionalProperties':
      problem = 'is not a known field';
      break;
    case 'pattern':
      problem = 'has characters or a length that are not allowed';
      break;
    case 'enum':
      problem = `must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    default:
      problem = error.message ?? 'is invalid';
  }
  const isScore = field === 'score' || field.endsWith('.score');
  if (isScore && error.keyword !== 'required') {
    return new LadderError('invalid_score', `${field} must be an integer within ±(2^53−1) (${problem})`, { field });
  }
  return new LadderError('invalid_request', `${field} ${problem}`, { field });
}
