//! Where a project's objects live (its namespace in the tenant's cluster)
//! and whose they are (the HKS labels). A leaf of its own so that the
//! examples of the manifest tests need nothing of `manifest`.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::labels::{
    LABEL_APPLICATION, LABEL_INSTALLATION, LABEL_MANAGED_BY, LABEL_PROJECT, LABEL_TENANT,
    LABEL_TYPE, MANAGED_BY,
};

/// Where a project's objects live, and whose they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The HKS installation's id ([`LABEL_INSTALLATION`]).
    pub installation: String,
    pub tenant: String,
    pub project: String,
    /// The project's namespace in the tenant's cluster.
    pub namespace: String,
}

impl Placement {
    /// The labels of every object of the project: HKS's, the
    /// installation's, the tenant's and the project's.
    pub fn project_labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (LABEL_MANAGED_BY.to_owned(), MANAGED_BY.to_owned()),
            (LABEL_INSTALLATION.to_owned(), self.installation.clone()),
            (LABEL_TENANT.to_owned(), self.tenant.clone()),
            (LABEL_PROJECT.to_owned(), self.project.clone()),
        ])
    }

    /// The labels every object of `application` carries.
    pub fn labels(&self, application: &str, kind: &str) -> BTreeMap<String, String> {
        let mut labels = self.project_labels();
        labels.extend([
            (LABEL_APPLICATION.to_owned(), application.to_owned()),
            (LABEL_TYPE.to_owned(), kind.to_owned()),
        ]);
        labels
    }

    /// The metadata of the object `name` of this project.
    pub(crate) fn meta(&self, name: &str, labels: BTreeMap<String, String>) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(self.namespace.clone()),
            labels: Some(labels),
            ..ObjectMeta::default()
        }
    }
}
