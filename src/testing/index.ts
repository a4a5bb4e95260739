/**
 * `@mamey/persistence-redis/testing`: helpers to test flows built with the library without Redis.
 *
 * @since 0.1.0
 */
export { createTestScheduler } from './createTestScheduler';
export { recordingLogger } from './recordingLogger';
export type { LogLine, RecordingLogger } from './recordingLogger';
export { testMessage } from './testMessage';
export type { TestMessageOptions, TestStreamMessage } from './testMessage';
export { scriptedGroup } from './scriptedGroup';
export type {
  AckRecord,
  DeadLetterRecord,
  DeliveryRecord,
  ScriptedGroup,
  ScriptedGroupConfig,
} from './scriptedGroup';
export { recordingStream } from './recordingStream';
export type { RecordedEntry, RecordingStream, RecordingStreamOptions } from './recordingStream';
export { fakePipeline } from './fakePipeline';
export type { FakePipeline, FakePipelineOptions, SentPipeline } from './fakePipeline';
