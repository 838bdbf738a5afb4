//! HKS's Kubernetes adapter: server-side apply, reflectors per tenant cluster, runs, logs, run now.
