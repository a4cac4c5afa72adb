/**
 * Where keyroll may send a key, or fetch what it trusts (delivered keys, the probe, GitHub's signing keys):
 * `https:` only, except to this machine (`localhost`, `127.0.0.0/8`, `::1`), which is local mode.
 */
export function isSecureUrl(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  if (url.protocol !== 'http:') return false;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The same rule for text: false for anything that is not a URL. */
export function isSecureUrlText(text: string): boolean {
  try {
    return isSecureUrl(new URL(text));
  } catch {
    return false;
  }
}

export const SECURE_URL_EXPECTATION = 'an https:// URL (http:// only to this machine, for local mode)';
