import { createRequire } from 'node:module';

export type S3Sdk = typeof import('@aws-sdk/client-s3');
type Presigner = typeof import('@aws-sdk/s3-request-presigner');

// The AWS SDK is ~20 MB of a process's memory: it is loaded when an S3 store is made (S3_BUCKET
// set), never on the default file store. Its CommonJS build loads synchronously, so making the
// store stays synchronous.
const load = createRequire(import.meta.url);
let sdk: S3Sdk | undefined;
let presigner: Presigner | undefined;

export const s3Sdk = (): S3Sdk => (sdk ??= load('@aws-sdk/client-s3') as S3Sdk);
export const s3Presigner = (): Presigner => (presigner ??= load('@aws-sdk/s3-request-presigner') as Presigner);
