//! What the `hks` crate's cluster tests share.

use std::time::Duration;

use hks_testkit::app::eventually;

/// A client for the cluster a kubeconfig (YAML) names.
pub async fn client_of(kubeconfig: &str) -> kube::Client {
    kube::Client::try_from(
        kube::Config::from_custom_kubeconfig(
            kube::config::Kubeconfig::from_yaml(kubeconfig).unwrap(),
            &Default::default(),
        )
        .await
        .unwrap(),
    )
    .unwrap()
}

/// Polls `probe` every half second until it gives a value; fails after `seconds`.
pub async fn wait<T>(what: &str, seconds: u64, probe: impl AsyncFnMut() -> Option<T>) -> T {
    eventually(
        what,
        Duration::from_secs(seconds),
        Duration::from_millis(500),
        probe,
    )
    .await
}
