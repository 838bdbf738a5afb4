//! HKS's HTTP API: axum routes, authentication, error mapping, OpenAPI.
