/**
 * GET /api/staff/admin/reports?from=YYYY-MM-DD&to=YYYY-MM-DD&granularity=day|week[&format=csv]: the
 * outcome report as JSON, or as a CSV download (admins).
 */
import { AREA_ROLES, requireStaff } from "@/lib/auth/session";
import { outcomeReport } from "@/lib/db/reports";
import { ApiError, issuesMessage, json, route } from "@/lib/http";
import { reportRequestSchema } from "@/lib/protocol/reports";
import { reportCsv } from "@/lib/report-csv";

export const dynamic = "force-dynamic";

export const GET = route(async (request) => {
  const staff = await requireStaff(request, AREA_ROLES.admin);
  if (staff instanceof Response) return staff;
  const parsed = reportRequestSchema.safeParse(Object.fromEntries(new URL(request.url).searchParams));
  if (!parsed.success) throw new ApiError(400, "invalid_payload", issuesMessage(parsed.error));
  const { format, ...query } = parsed.data;
  const report = await outcomeReport(query);
  if (format === "json") return json(report);
  return new Response(reportCsv(report), {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="loopdesk-outcomes-${query.from}-${query.to}-${query.granularity}.csv"`,
      "cache-control": "no-store",
    },
  });
});
