/**
 * @stowage/core/s3: the S3 backend and its settings (loads the AWS SDK; `openBackend` in the
 * main entry loads it on demand).
 */
export { S3Backend, type S3BackendOptions, type RequestKind } from './backend/s3.js';
export { makeS3Client, s3SettingsFromEnv, DEFAULT_S3_CONNECTIONS, type S3Settings } from './backend/s3-client.js';
export { mapS3Error } from './backend/s3-errors.js';
