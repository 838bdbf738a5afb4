//! What a tenant's cluster shows of a project, from the watch caches
//! (never a request to the cluster per read).

use hks_kube::Observed;
use hks_store::Project;
use tracing::warn;

use crate::tenancy::Scope;
use crate::{App, AppError};

/// What the cluster shows of a project (of one CronJob when `only` names
/// it), or `None` when it cannot be reached or its watches are stopped
/// (more HKS objects than the caches hold): reads then show the stored
/// configuration with an unknown state.
pub async fn project(
    app: &App,
    scope: &Scope,
    project: &Project,
    only: Option<&str>,
) -> Result<Option<Observed>, AppError> {
    let observed = match only {
        Some(name) => {
            app.gateway()
                .observe_cronjob(scope.cluster(), &project.namespace, name)
                .await
        }
        None => {
            app.gateway()
                .observe(scope.cluster(), &project.namespace)
                .await
        }
    };
    match observed {
        Ok(o) => Ok(Some(o)),
        Err(
            e @ (hks_kube::KubeError::Unreachable(_)
            | hks_kube::KubeError::BadAnswer(_)
            | hks_kube::KubeError::Misconfigured(_)
            | hks_kube::KubeError::TooManyObjects { .. }),
        ) => {
            warn!(error = %e, tenant = %scope.tenant_name, "Showing CronJobs without cluster state.");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}
