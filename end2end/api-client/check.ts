// A client of the REST API typed from its OpenAPI document (openapi-typescript writes
// generated/openapi.d.ts from it; scripts/openapi-check.sh runs both). This file only has to
// type-check: it uses the operations a pipeline and a dashboard use, by their operationIds and
// paths, so a document that renames, drops or retypes them fails `make test`.
import type { components, operations, paths } from "./generated/openapi";

type Deployment = components["schemas"]["Deployment"];
type RecordRequest = components["schemas"]["RecordDeploymentRequest"];

// Recording by names, as a CI pipeline does.
export const record: RecordRequest = {
  application: "shop",
  environment: "PROD",
  version: "1.4.2",
  createVersion: true,
  deploymentDate: "2026-12-06T10:00:00Z",
};

// The history, a page at a time.
type HistoryPage =
  operations["list_deployments"]["responses"][200]["content"]["application/json"];
export function newest(page: HistoryPage): Deployment | undefined {
  return page.items[0];
}
export function nextPage(page: HistoryPage): string | null | undefined {
  return page.nextCursor;
}
type HistoryQuery = NonNullable<operations["list_deployments"]["parameters"]["query"]>;
export const query: HistoryQuery = { limit: 50, environmentId: "0190b7a0-0000-7000-8000-000000000000" };

// The current state of one pair, and the whole matrix.
type Current = paths["/api/deployments/current"]["get"]["responses"][200]["content"]["application/json"];
export function versions(current: Current): string[] {
  return current.map((cell) => cell.version.versionIdentifier);
}

// Every operation a generated client would name exists under its stable id.
export type Stable = [
  operations["record_deployment"],
  operations["get_deployment"],
  operations["retract_deployment"],
  operations["current_state"],
  operations["list_audit"],
  operations["export_audit_csv"],
  operations["export_deployments_csv"],
  operations["list_hooks"],
  operations["list_webhooks"],
  operations["list_hook_deliveries"],
  operations["list_webhook_deliveries"],
  operations["get_insights"],
];
