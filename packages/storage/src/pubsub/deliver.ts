import { TesseraTypeError } from '@tessera/core';
import { closed } from '../lib/errors.js';
import type { MessageHandler } from './types.js';

export type ErrorReporter = (error: unknown, topic: string) => void;

export const warnOnError: ErrorReporter = (error, topic) => {
  // The handler's own error, not a stored value: safe to print, and it must not crash the process.
  process.emitWarning(error instanceof Error ? error : String(error), {
    code: 'TESSERA_CHANNEL_HANDLER_FAILED',
    detail: `a subscriber of topic "${topic}" failed`,
  });
};

/** Calls a handler so that neither a throw nor a rejection escapes. */
export function deliver(
  handler: MessageHandler,
  message: string,
  topic: string,
  onError: ErrorReporter,
): void {
  const report = (error: unknown): void => {
    try {
      onError(error, topic);
    } catch {
      // A failing error reporter must not take the subscriber down either.
    }
  };
  try {
    const result = handler(message, topic);
    if (result instanceof Promise) result.catch(report);
  } catch (error) {
    report(error);
  }
}

function checkTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || topic.length === 0) {
    throw new TesseraTypeError('ERR_INVALID_TOPIC', 'a topic must be a non-empty string');
  }
}

function checkMessage(message: unknown): asserts message is string {
  if (typeof message !== 'string') {
    throw new TesseraTypeError('ERR_INVALID_VALUE', 'a message must be a string');
  }
}

function checkHandler(handler: unknown): asserts handler is MessageHandler {
  if (typeof handler !== 'function') {
    throw new TesseraTypeError('ERR_INVALID_HANDLER', 'a handler must be a function');
  }
}

/** What every channel checks before a publish: still open, a topic, a string message. */
export function checkPublish(operation: string, isClosed: boolean, topic: unknown, message: unknown): void {
  if (isClosed) throw closed(operation);
  checkTopic(topic);
  checkMessage(message);
}

/** What every channel checks before a subscribe: still open, a topic, a handler. */
export function checkSubscribe(operation: string, isClosed: boolean, topic: unknown, handler: unknown): void {
  if (isClosed) throw closed(operation);
  checkTopic(topic);
  checkHandler(handler);
}
