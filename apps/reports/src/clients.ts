import Bowser from 'bowser';

/**
 * The client family of a user agent, for the breakdown by client: the browser or player name that
 * bowser (a maintained UA parser) recognises, else the product token of a media player
 * (`VLC/3.0`, `ExoPlayerLib/2.19`), else "unknown". Absent user agents are "unknown" too.
 */
export function clientFamily(ua: string | null | undefined): string {
  if (!ua || ua.trim() === '') return 'unknown';
  let name = '';
  try {
    name = Bowser.getParser(ua).getBrowserName() ?? '';
  } catch {
    name = '';
  }
  if (name !== '') return name;
  // Players and radio apps that are not browsers announce themselves as `Product/version ...`.
  const product = /^([A-Za-z][A-Za-z0-9 ._-]{0,40}?)\/\d/.exec(ua.trim());
  return product?.[1] ? product[1] : 'unknown';
}
