// Native and WebAssembly packages stay outside Next's bundles and are loaded by Node as they are.
/** @type {import('next').NextConfig} */
const nextConfig = {
  serverExternalPackages: [
    "@huggingface/transformers",
    "onnxruntime-node",
    "@electric-sql/pglite",
    "pglite-prisma-adapter",
    "@prisma/adapter-pg",
    "pg",
    "pino",
    "prom-client",
  ],
  poweredByHeader: false,
  // Lets parallel work trees of one checkout build side by side (NEXT_DIST_DIR=.next-mine).
  distDir: process.env.NEXT_DIST_DIR ?? ".next",
};
export default nextConfig;
