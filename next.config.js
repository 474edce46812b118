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
  ],
  poweredByHeader: false,
};
export default nextConfig;
