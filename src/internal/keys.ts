/**
 * The one key builder: every key, stream and channel name the library touches goes through it,
 * so the `Instance` prefix is applied exactly once and stripped exactly once.
 *
 * @internal
 */

/** Prepends the instance prefix (as the .NET `InstanceName`: plain concatenation). */
export const prefixKey = (instance: string, key: string): string =>
  instance === '' ? key : instance + key;

/** Strips the instance prefix; `undefined` when the key is not under it. */
export const unprefixKey = (instance: string, key: string): string | undefined =>
  instance === '' ? key : key.startsWith(instance) ? key.slice(instance.length) : undefined;
