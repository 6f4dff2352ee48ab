"""Evidence: frozen records of what the harness's endpoints sent and received and what the
capture showed (`records`), the observation each scenario returns (`call`, `fork`,
`teams`, `policy`, `robust`), their JSON encoding (`codec`) and recording from real runs
(`recording`). A leaf under the checks: it imports only the protocol packages and the
capture reader (docs/decisions.md D27)."""
