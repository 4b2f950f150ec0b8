/** The public API of images back into the ecosystem (issue 12): image references, served images, serve, push, pull. */
export { parseImageRef, formatImageRef, isRepositoryName, isTag, isDigest, sameRepository, shortRepository, repositoryFromName, imageNamesOf, imageRefsOf, type ImageRef } from '../image/ref.js';
export { servedImages, servedImage, generatedManifest, manifestMediaTypeOf, OCI_MANIFEST, OCI_INDEX, OCI_CONFIG, OCI_LAYER, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_CONFIG, type ServedImage, type BlobPlace } from '../image/served.js';
export { RegistryCatalog, ID_TAG_LENGTH, type CatalogImage, type BlobSource } from './catalog.js';
export { blobPieces, blobWindows, readBlob, blobSize, readRings, type BlobReadOptions, type BlobWindow, type ReadRings } from './blob-reader.js';
export { registryHandler, parseRange, type HandlerOptions, type RequestEvent, type RegistryErrorCode } from './handler.js';
export { Authenticator, type AuthConfig } from './auth.js';
export { startRegistryServer, type ServeOptions, type RunningServer } from './server.js';
export { asImageRef, holdsImage, newestHolding, imagesMatching } from '../snapshot/find-image.js';
export { RegistryClient, isLoopbackHost, type ClientOptions, type Credentials } from './client.js';
export { parseImageLocation, isImageLocation, credentialsFromDockerConfig, type ImageLocation } from './transport.js';
export { pushImage, type PushOptions, type PushResult, type PushTarget, type PushProgress } from './push.js';
export { writeOciLayout, type LayoutResult } from './oci-layout.js';
export { snapshotFromLocation, snapshotFromRegistry, snapshotFromLayout, hostPlatform, type PullOptions, type PullResult, type Descriptor } from './pull.js';
export { tarStream, tarHeaderFor, type TarEntry as TarWriterEntry } from './tar-writer.js';
