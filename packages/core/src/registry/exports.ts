/** The public API of images back into the ecosystem (issue 12): image references, serve, push, pull. */
export { parseImageRef, formatImageRef, type ImageRef } from '../image/ref.js';
export { registryHandler, type HandlerOptions, type RequestEvent, type RegistryErrorCode } from './handler.js';
export type { AuthConfig } from './auth.js';
export { startRegistryServer, type ServeOptions, type RunningServer } from './server.js';
export type { Credentials } from './client.js';
export { parseImageLocation, type ImageLocation } from './transport.js';
export { pushImage, type PushOptions, type PushResult, type PushTarget, type PushProgress } from './push.js';
export { writeOciLayout, type LayoutResult } from './oci-layout.js';
export { snapshotFromLocation, type PullOptions, type PullResult } from './pull.js';
