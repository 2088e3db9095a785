//! Server-only code: the storage contract and the service that holds every business rule.

pub mod caller;
pub mod clock;
pub(crate) mod kept;
pub mod ordering;
pub mod policy;
pub mod records;
pub mod service;
pub mod store;

pub use caller::{Authenticated, PipelineIdentity, Via};
pub use service::{AccessPolicy, Credential, Service};
pub use store::{
    AuditFilter, AuditKey, AuditRecord, CommitRangeRecord, CurrentStateRecord, DeploymentRecord,
    DriftBreachRecord, DriftPolicyRecord, FreezeEndRecord, FreezeRecord, HistoryKey, HookRecord,
    IdempotencyClaim, IdempotencyRecord, Inserted, InsightRecord, LoginAttempt, MatrixStamp,
    NewDeployment, PairChanges, PairFilter, PairRevisions, PromotionRequirementRecord,
    SessionRecord, Store, StoreError, WebhookRecord,
};
