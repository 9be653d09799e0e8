/**
 * `make()` run once and its promise shared by every caller; a rejection is not kept, so the next
 * caller tries again. For what the gateway learns lazily from the token service (its metadata),
 * so that it starts while the token service is still coming up and recovers when it does.
 */
export function onceUntilSuccess<T>(make: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    if (pending === undefined) {
      const attempt = make();
      pending = attempt;
      attempt.catch(() => {
        if (pending === attempt) pending = undefined;
      });
    }
    return pending;
  };
}
