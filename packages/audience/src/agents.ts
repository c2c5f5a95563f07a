import type { Audience, AudienceOf, SessionClass } from '@earshot/core';
import { isbot } from 'isbot';
import { parseClient } from './client.js';

/**
 * The station's user-agent rules (EARSHOT_BOT_AGENTS, EARSHOT_RELAY_AGENTS, EARSHOT_MONITOR_AGENTS):
 * each entry a case-insensitive substring, or `/regex/` (case-insensitive too).
 */
export interface AgentRules {
  botAgents: readonly string[];
  relayAgents: readonly string[];
  monitorAgents: readonly string[];
}

type Test = (ua: string) => boolean;

function compilePattern(entry: string, source?: string): Test {
  const where = source ? ` in ${source}` : '';
  if (entry.length >= 2 && entry.startsWith('/') && entry.endsWith('/')) {
    const body = entry.slice(1, -1);
    if (body === '')
      throw new Error(`Invalid user-agent pattern "${entry}"${where}: the regular expression is empty`);
    let regex: RegExp;
    try {
      regex = new RegExp(body, 'i');
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`Invalid user-agent pattern "${entry}"${where}: ${reason}`);
    }
    return (ua) => regex.test(ua);
  }
  const needle = entry.toLowerCase();
  return (ua) => ua.toLowerCase().includes(needle);
}

/**
 * Splits a comma-separated list into entries, trimmed, blanks dropped. A `/regex/` entry may hold
 * commas (`/^Foo\/\d{1,2}/`): it ends at the first unescaped `/` that only spaces separate from the
 * next comma or the end.
 */
function splitPatterns(text: string): string[] {
  const entries: string[] = [];
  let at = 0;
  while (at < text.length) {
    while (at < text.length && /\s/.test(text[at] as string)) at++;
    if (at >= text.length) break;
    let end = -1;
    if (text[at] === '/') {
      for (let i = at + 1; i < text.length; i++) {
        if (text[i] === '\\') {
          i++;
          continue;
        }
        if (text[i] === '/' && /^\s*(?:,|$)/.test(text.slice(i + 1))) {
          end = i + 1;
          break;
        }
      }
    }
    if (end < 0) {
      const comma = text.indexOf(',', at);
      end = comma < 0 ? text.length : comma;
    }
    const entry = text.slice(at, end).trim();
    if (entry !== '') entries.push(entry);
    const comma = text.indexOf(',', end);
    at = comma < 0 ? text.length : comma + 1;
  }
  return entries;
}

/**
 * The entries of a user-agent pattern list from an environment variable, comma-separated: each a
 * case-insensitive substring, or `/regex/` (case-insensitive). Undefined or blank text is an empty
 * list. Throws an Error naming the first invalid regular expression (and `source` when given).
 */
export function parseAgentPatterns(text: string | undefined, source?: string): string[] {
  if (text === undefined) return [];
  const entries = splitPatterns(text);
  for (const entry of entries) compilePattern(entry, source);
  return entries;
}

function anyOf(patterns: readonly string[]): Test {
  const tests = patterns.map((pattern) => compilePattern(pattern.trim()));
  if (tests.length === 0) return () => false;
  return (ua) => tests.some((test) => test(ua));
}

/** How many user agents {@link createAudienceOf} remembers before it starts afresh. */
export const AUDIENCE_CACHE_SIZE = 10_000;

const NO_AGENT: Omit<Audience, 'class'> = { device: 'unknown', os: 'unknown', player: 'unknown' };

/**
 * Decides a session's audience from its client facts, purely:
 * - class: its `origin` when set (ingest's IP ranges); else `relay` when the user agent matches
 *   `relayAgents`, `monitor` when it matches `monitorAgents`, `bot` when it matches `botAgents`
 *   or isbot's list; else `human`. A known media player (VLC, mpv, Lavf, Winamp...) is not taken
 *   for a bot by isbot, whose generic rule counts any bare `Product/1.0` agent as a script; the
 *   station's own `botAgents` still apply to it.
 * - device, os, player: {@link describeClient}; `unknown` without a user agent (class `human`).
 * Results are remembered per user agent (up to {@link AUDIENCE_CACHE_SIZE}, then forgotten at once).
 * Throws when a rule is not a valid pattern.
 */
export function createAudienceOf(rules: AgentRules): AudienceOf {
  const relay = anyOf(rules.relayAgents);
  const monitor = anyOf(rules.monitorAgents);
  const bot = anyOf(rules.botAgents);
  const memo = new Map<string, Audience>();

  const decide = (ua: string): Audience => {
    const client = parseClient(ua);
    let kind: SessionClass = 'human';
    if (relay(ua)) kind = 'relay';
    else if (monitor(ua)) kind = 'monitor';
    else if (bot(ua) || (!client.mediaPlayer && isbot(ua))) kind = 'bot';
    return { class: kind, device: client.device, os: client.os, player: client.player };
  };

  return ({ ua, origin }) => {
    if (ua === null || ua === undefined || ua.trim() === '') return { class: origin ?? 'human', ...NO_AGENT };
    let audience = memo.get(ua);
    if (audience === undefined) {
      if (memo.size >= AUDIENCE_CACHE_SIZE) memo.clear();
      audience = decide(ua);
      memo.set(ua, audience);
    }
    return { ...audience, class: origin ?? audience.class };
  };
}

/** No station patterns: isbot's list alone decides bots (relays and monitors by origin only). */
export const NO_AGENT_RULES: AgentRules = Object.freeze({
  botAgents: [],
  relayAgents: [],
  monitorAgents: [],
});
