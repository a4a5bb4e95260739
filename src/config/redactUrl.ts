const SCHEME = /^\s*[a-z][a-z0-9+.-]*:\/\//i;
// `password=` in a StackExchange string or a URL query, and the keys other tools use for it.
const PASSWORD_PARAM = /((?:^|[,?&;])\s*(?:password|pass|pwd|sentinelPassword)\s*=)[^,&;#]*/gi;

/**
 * Replaces the password in a `redis://` URL or a StackExchange-style string with `***`, so the
 * text can go to logs and error messages.
 *
 * Deliberately over-eager: in a URL everything between the first `:` of the user part and the
 * last `@` is hidden, so a password with an unescaped `@`, `/` or `?` (which no parser reads the
 * way its owner meant) is hidden too.
 *
 * @param s a URL or connection string, valid or not
 * @returns the same text with every password replaced by `***`
 * @example
 * ```ts
 * redactUrl('redis://app:S3cr3t@cache:6379/0'); // 'redis://app:***@cache:6379/0'
 * redactUrl('cache:6379,password=S3cr3t,ssl=true'); // 'cache:6379,password=***,ssl=true'
 * ```
 * @since 0.1.0
 */
export const redactUrl = (s: string): string => {
  const scheme = SCHEME.exec(s);
  let out = s;
  if (scheme !== null) {
    const rest = s.slice(scheme[0].length);
    const lastAt = rest.lastIndexOf('@');
    const colon = rest.indexOf(':');
    if (lastAt >= 0 && colon >= 0 && colon < lastAt) {
      out = `${scheme[0]}${rest.slice(0, colon)}:***${rest.slice(lastAt)}`;
    }
  }
  return out.replace(PASSWORD_PARAM, '$1***');
};
