/**
 * POST /api/ml/data/import?filename=<name>.csv|.jsonl with the file as the body: the CLI's import,
 * same validation, all or nothing. 422 with the report when the file has errors.
 */
import { ApiError, readBody } from "@/lib/http";
import { formatFromFilename, importDataset, MAX_FILE_BYTES } from "@/lib/dataset/import";
import { json, mlRoute } from "../../_shared";

export const dynamic = "force-dynamic";

export const POST = mlRoute(async (request, staff) => {
  const filename = new URL(request.url).searchParams.get("filename") ?? "";
  if (!/^[^/\\\0]{1,200}$/.test(filename)) throw new ApiError(400, "invalid_payload", "Give the file's name (?filename=data.csv).");
  let format;
  try {
    format = formatFromFilename(filename);
  } catch (err) {
    throw new ApiError(400, "unsupported_format", (err as Error).message);
  }
  const content = await readBody(request, MAX_FILE_BYTES);
  const report = await importDataset({ content, format, actor: staff.email, filename });
  if (report.errors.length > 0) {
    return json({ error: { code: "invalid_dataset", message: `Nothing imported: ${report.errors.length} error(s) in ${filename}.` }, report }, 422);
  }
  return json({ report });
});
