/**
 * `pending`, bounded by `timeoutMs`: it rejects with `timedOut()` once that time has passed, and a
 * rejection of `pending` comes out as `translate(error)`. A late result of an abandoned `pending`
 * is dropped, so it never becomes an unhandled rejection. One promise and one timer, no
 * Promise.race: stores and the session manager run this on every request.
 */
export function withDeadline<T>(
  pending: Promise<T>,
  timeoutMs: number,
  timedOut: () => unknown,
  translate: (error: unknown) => unknown = (error) => error,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      reject(timedOut());
    }, timeoutMs);
    pending.then(
      (value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(translate(error));
      },
    );
  });
}
