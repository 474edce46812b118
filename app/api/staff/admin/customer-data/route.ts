/** GET /api/staff/admin/customer-data?customer=ID: everything stored about one customer, as a JSON download (admins; audited). */
import { AREA_ROLES, requireStaff } from "@/lib/auth/session";
import { exportCustomerData } from "@/lib/db/customer-data";
import { ApiError, issuesMessage, route } from "@/lib/http";
import { customerDataQuerySchema } from "@/lib/protocol/staff";

export const dynamic = "force-dynamic";

export const GET = route(async (request) => {
  const staff = await requireStaff(request, AREA_ROLES.admin);
  if (staff instanceof Response) return staff;
  const query = customerDataQuerySchema.safeParse(Object.fromEntries(new URL(request.url).searchParams));
  if (!query.success) throw new ApiError(400, "invalid_payload", issuesMessage(query.error));
  const data = await exportCustomerData(query.data.customer, staff.email);
  if (!data) throw new ApiError(404, "not_found", "No such customer.");
  return new Response(`${JSON.stringify(data, null, 2)}\n`, {
    headers: {
      "content-type": "application/json; charset=utf-8",
      "content-disposition": `attachment; filename="customer-${data.customer.id}.json"`,
      "cache-control": "no-store",
    },
  });
});
