import { type AgentRules, createAudienceOf, NO_AGENT_RULES } from '@earshot/audience';
import type { AudienceOf } from '@earshot/core';
import type { FinalizeSettings } from './types.js';

const cache = new WeakMap<object, AudienceOf>();
const noRules = createAudienceOf(NO_AGENT_RULES);

/**
 * The classifier of the settings' agent rules (`@earshot/audience`: isbot's list plus the station's
 * patterns; relays and monitors by origin first), built once per rules object.
 */
export function audienceOf(settings: FinalizeSettings): AudienceOf {
  const rules: AgentRules | undefined = settings.agents;
  if (!rules) return noRules;
  let classify = cache.get(rules);
  if (!classify) {
    classify = createAudienceOf(rules);
    cache.set(rules, classify);
  }
  return classify;
}
