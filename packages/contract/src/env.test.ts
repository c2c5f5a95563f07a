import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkEnv, logLevel, parseEnv, sharedEnvSchema } from './env.js';

describe('sharedEnvSchema', () => {
  it('refuses an EARSHOT_TZ that is not an IANA zone, naming it', () => {
    expect(parseEnv(sharedEnvSchema, { EARSHOT_TZ: 'Europe/Berlin' }).EARSHOT_TZ).toBe('Europe/Berlin');
    expect(() => parseEnv(sharedEnvSchema, { EARSHOT_TZ: 'Europe/Berlni' })).toThrow(
      /EARSHOT_TZ: is not an IANA time zone/,
    );
  });

  it('takes LOG_LEVEL from pino levels, info by default', () => {
    expect(parseEnv(sharedEnvSchema, {}).LOG_LEVEL).toBe('info');
    expect(parseEnv(sharedEnvSchema.extend({ LOG_LEVEL: logLevel('warn') }), {}).LOG_LEVEL).toBe('warn');
    expect(() => parseEnv(sharedEnvSchema, { LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
  });
});

describe('checkEnv', () => {
  it('counts an empty variable as unset and reports every bad one with its value', () => {
    const schema = z.object({ A: z.coerce.number().default(1), B: z.coerce.number(), C: z.string().min(3) });
    const result = checkEnv(schema, { A: '', B: 'x', C: 'ab' });
    expect(result).toEqual({
      ok: false,
      issues: [
        { name: 'B', value: 'x', message: expect.any(String) },
        { name: 'C', value: 'ab', message: expect.any(String) },
      ],
    });
    expect(checkEnv(schema, { B: '2', C: 'abc' })).toEqual({ ok: true, env: { A: 1, B: 2, C: 'abc' } });
  });
});
