/**
 * `@mamey/persistence-redis/testing`: helpers to test flows built with the library without Redis.
 *
 * @since 0.1.0
 */
export { createTestScheduler } from './createTestScheduler';
export { recordingLogger } from './recordingLogger';
export type { LogLine, RecordingLogger } from './recordingLogger';
