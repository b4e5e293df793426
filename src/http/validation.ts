/**
 * Ajv set up the way the v1 API wants it: bodies are strict (no type
 * coercion, no silently removed fields), query strings and path parameters
 * are coerced from text. Every failure names its field and states the
 * field's rule in the API's words, taken from the schema (never Ajv's
 * wording).
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';
import { LadderError } from '../core/errors.js';
import { BOARD_ID_PATTERN, EVENT_ID_PATTERN, PARTICIPANT_ID_PATTERN } from '../core/ids.js';
import { IMPORT_SOURCE_PATTERN, IMPORT_SOURCE_RULE } from '../core/import-records.js';
import { MAX_SCORE, MIN_SCORE } from '../core/ordering.js';
import { SCOPE_VALUE_PATTERN } from '../core/scopes.js';

// verbose: errors carry their schema, which the messages quote the limits from.
const strict = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false, verbose: true });
const coercing = new Ajv({ coerceTypes: true, useDefaults: true, removeAdditional: false, allErrors: false, strict: false, verbose: true });

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

/** The id rules in words, by their pattern (src/core/ids.ts). */
const idRules: Record<string, string> = {
  [BOARD_ID_PATTERN]: '1 to 64 characters of A-Z a-z 0-9 _ . ~ -, starting with a letter or digit',
  [PARTICIPANT_ID_PATTERN]: '1 to 128 characters of A-Z a-z 0-9 _ . ~ : @ -',
  [EVENT_ID_PATTERN]: '1 to 128 printable ASCII characters, without spaces',
  [IMPORT_SOURCE_PATTERN]: IMPORT_SOURCE_RULE.replace(/^must be /, ''),
  [SCOPE_VALUE_PATTERN]: '1 to 64 characters of A-Z a-z 0-9 _ . -',
};

/** The subset of JSON schema that src/http/schemas.ts uses. */
interface FieldSchema {
  type?: string;
  enum?: unknown[];
  anyOf?: FieldSchema[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  properties?: Record<string, unknown>;
}

/** "1 to 1000 items", "at most 200 characters"; '' without bounds. */
function count(min: number | undefined, max: number | undefined, unit: string): string {
  const lower = min !== undefined && min > 0 ? min : undefined;
  if (lower !== undefined && max !== undefined) return `${lower} to ${max} ${unit}`;
  if (max !== undefined) return `at most ${max} ${unit}`;
  if (lower !== undefined) return `at least ${lower} ${unit}`;
  return '';
}

function range(noun: string, min: number | undefined, max: number | undefined): string {
  if (min === MIN_SCORE && max === MAX_SCORE) return `${noun} within ±(2^53−1)`;
  if (min !== undefined && max !== undefined) return `${noun} from ${min} to ${max}`;
  if (min !== undefined) return `${noun} of at least ${min}`;
  if (max !== undefined) return `${noun} of at most ${max}`;
  return noun;
}

/** What a value of `schema` is, as a noun phrase: "an integer from 1 to 1000", "a string of 1 to 200 characters". */
function describe(schema: FieldSchema): string {
  if (schema.anyOf) return schema.anyOf.map(describe).join(', or ');
  if (schema.enum) return `one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  const of = (phrase: string) => (phrase === '' ? '' : ` of ${phrase}`);
  switch (schema.type) {
    case 'integer':
      return range('an integer', schema.minimum, schema.maximum);
    case 'number':
      return range('a number', schema.minimum, schema.maximum);
    case 'string': {
      const idRule = schema.pattern === undefined ? undefined : idRules[schema.pattern];
      return `a string${of(idRule ?? count(schema.minLength, schema.maxLength, 'characters'))}`;
    }
    case 'array':
      return `an array${of(count(schema.minItems, schema.maxItems, 'items'))}`;
    case 'object':
      return `an object${of(count(undefined, schema.maxProperties, 'fields'))}`;
    case 'boolean':
      return 'true or false';
    case 'null':
      return 'null';
    default:
      return 'a valid value';
  }
}

/** What is wrong, after the field's name: "is required", "must be an integer from 0 to 100". */
function problemOf(error: ErrorObject, httpPart: string | undefined): string {
  const schema = (error.parentSchema ?? {}) as FieldSchema;
  switch (error.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties': {
      const known = Object.keys(schema.properties ?? {});
      const noun = httpPart === 'querystring' ? 'parameter' : 'field';
      return known.length === 0 ? `is not a known ${noun}` : `is not a known ${noun}; known: ${known.join(', ')}`;
    }
    case 'pattern': {
      const idRule = idRules[String(error.params.pattern)];
      return idRule === undefined ? 'has characters or a length that are not allowed' : `must be ${idRule}`;
    }
    case 'minItems':
    case 'maxItems':
      return `must hold ${count(schema.minItems, schema.maxItems, 'items')}`;
    case 'type':
    case 'enum':
    case 'anyOf':
    case 'minimum':
    case 'maximum':
    case 'minLength':
    case 'maxLength':
    case 'maxProperties':
      return `must be ${describe(schema)}`;
    default:
      return 'is invalid';
  }
}

/**
 * The error that says what is wrong. With allErrors off there is one
 * failure; under anyOf, Ajv lists each branch's error before the anyOf one,
 * which describes the field ("must be an object, or null"), unless a branch
 * got into the value: then its error inside it says more (rules.max_score
 * must be a number; rules.bogus is not a known field).
 */
function mainError(errors: ErrorObject[]): ErrorObject | undefined {
  const at = errors.findIndex((e) => e.keyword === 'anyOf');
  if (at < 0) return errors[0];
  const anyOf = errors[at]!;
  const inside = errors
    .slice(0, at)
    .find((e) => e.instancePath.startsWith(`${anyOf.instancePath}/`) || (e.instancePath === anyOf.instancePath && (e.keyword === 'additionalProperties' || e.keyword === 'required')));
  return inside ?? anyOf;
}

/** Turns Ajv's errors into a 400 that names the field and its rule. */
export function validationError(errors: ErrorObject[] | null | undefined, prefix = '', httpPart?: string): LadderError {
  const error = errors === null || errors === undefined ? undefined : mainError(errors);
  if (!error) return new LadderError('invalid_request', 'invalid request');
  const field = fieldOf(error, prefix);
  const message = `${field} ${problemOf(error, httpPart)}`;
  const isScore = field === 'score' || field.endsWith('.score');
  if (isScore && error.keyword !== 'required') return new LadderError('invalid_score', message, { field });
  return new LadderError('invalid_request', message, { field });
}
