//! The MGN wire protocol as the official model states it (restJson1): every operation
//! of `mgn-2020-02-26` with its HTTP method, URI and success code, so requests are routed
//! by method and path (never by `X-Amz-Target`), and the error shapes with their HTTP
//! statuses, plus the few protocol-level errors every AWS REST service shares.
//!
//! Everything the stand-in puts on the wire comes from these tables, and the conformance
//! test (`local/tests/suite/mgn_conformance.rs`) checks them against the model file.

/// One operation's place on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The model's operation name.
    pub operation: &'static str,
    pub method: &'static str,
    /// The request URI; `{resourceArn}` is a path label.
    pub path: &'static str,
    /// The HTTP status of a success (`http.responseCode`, 200 when the model gives none).
    pub success: u16,
}

const fn route(
    operation: &'static str,
    method: &'static str,
    path: &'static str,
    success: u16,
) -> Route {
    Route {
        operation,
        method,
        path,
        success,
    }
}

/// Every operation of the model, by name.
pub const ROUTES: &[Route] = &[
    route("ArchiveApplication", "POST", "/ArchiveApplication", 200),
    route("ArchiveWave", "POST", "/ArchiveWave", 200),
    route(
        "AssociateApplications",
        "POST",
        "/AssociateApplications",
        200,
    ),
    route(
        "AssociateSourceServers",
        "POST",
        "/AssociateSourceServers",
        200,
    ),
    route(
        "ChangeServerLifeCycleState",
        "POST",
        "/ChangeServerLifeCycleState",
        200,
    ),
    route("CreateApplication", "POST", "/CreateApplication", 201),
    route("CreateConnector", "POST", "/CreateConnector", 201),
    route(
        "CreateLaunchConfigurationTemplate",
        "POST",
        "/CreateLaunchConfigurationTemplate",
        201,
    ),
    route(
        "CreateNetworkMigrationDefinition",
        "POST",
        "/network-migration/CreateNetworkMigrationDefinition",
        201,
    ),
    route(
        "CreateReplicationConfigurationTemplate",
        "POST",
        "/CreateReplicationConfigurationTemplate",
        201,
    ),
    route("CreateWave", "POST", "/CreateWave", 201),
    route("DeleteApplication", "POST", "/DeleteApplication", 204),
    route("DeleteConnector", "POST", "/DeleteConnector", 204),
    route("DeleteJob", "POST", "/DeleteJob", 204),
    route(
        "DeleteLaunchConfigurationTemplate",
        "POST",
        "/DeleteLaunchConfigurationTemplate",
        204,
    ),
    route(
        "DeleteNetworkMigrationDefinition",
        "POST",
        "/network-migration/DeleteNetworkMigrationDefinition",
        204,
    ),
    route(
        "DeleteReplicationConfigurationTemplate",
        "POST",
        "/DeleteReplicationConfigurationTemplate",
        204,
    ),
    route("DeleteSourceServer", "POST", "/DeleteSourceServer", 204),
    route("DeleteVcenterClient", "POST", "/DeleteVcenterClient", 204),
    route("DeleteWave", "POST", "/DeleteWave", 204),
    route("DescribeJobLogItems", "POST", "/DescribeJobLogItems", 200),
    route("DescribeJobs", "POST", "/DescribeJobs", 200),
    route(
        "DescribeLaunchConfigurationTemplates",
        "POST",
        "/DescribeLaunchConfigurationTemplates",
        200,
    ),
    route(
        "DescribeReplicationConfigurationTemplates",
        "POST",
        "/DescribeReplicationConfigurationTemplates",
        200,
    ),
    route(
        "DescribeSourceServers",
        "POST",
        "/DescribeSourceServers",
        200,
    ),
    route(
        "DescribeVcenterClients",
        "GET",
        "/DescribeVcenterClients",
        200,
    ),
    route(
        "DisassociateApplications",
        "POST",
        "/DisassociateApplications",
        200,
    ),
    route(
        "DisassociateSourceServers",
        "POST",
        "/DisassociateSourceServers",
        200,
    ),
    route(
        "DisconnectFromService",
        "POST",
        "/DisconnectFromService",
        200,
    ),
    route("FinalizeCutover", "POST", "/FinalizeCutover", 200),
    route(
        "GetLaunchConfiguration",
        "POST",
        "/GetLaunchConfiguration",
        200,
    ),
    route(
        "GetNetworkMigrationDefinition",
        "POST",
        "/network-migration/GetNetworkMigrationDefinition",
        200,
    ),
    route(
        "GetNetworkMigrationMapperSegmentConstruct",
        "POST",
        "/network-migration/GetNetworkMigrationMapperSegmentConstruct",
        200,
    ),
    route(
        "GetReplicationConfiguration",
        "POST",
        "/GetReplicationConfiguration",
        200,
    ),
    route("InitializeService", "POST", "/InitializeService", 204),
    route("ListApplications", "POST", "/ListApplications", 200),
    route("ListConnectors", "POST", "/ListConnectors", 200),
    route("ListExportErrors", "POST", "/ListExportErrors", 200),
    route("ListExports", "POST", "/ListExports", 200),
    route("ListImportErrors", "POST", "/ListImportErrors", 200),
    route(
        "ListImportFileEnrichments",
        "POST",
        "/network-migration/ListImportFileEnrichments",
        200,
    ),
    route("ListImports", "POST", "/ListImports", 200),
    route("ListManagedAccounts", "POST", "/ListManagedAccounts", 200),
    route(
        "ListNetworkMigrationAnalyses",
        "POST",
        "/network-migration/ListNetworkMigrationAnalyses",
        200,
    ),
    route(
        "ListNetworkMigrationAnalysisResults",
        "POST",
        "/network-migration/ListNetworkMigrationAnalysisResults",
        200,
    ),
    route(
        "ListNetworkMigrationCodeGenerationSegments",
        "POST",
        "/network-migration/ListNetworkMigrationCodeGenerationSegments",
        200,
    ),
    route(
        "ListNetworkMigrationCodeGenerations",
        "POST",
        "/network-migration/ListNetworkMigrationCodeGenerations",
        200,
    ),
    route(
        "ListNetworkMigrationDefinitions",
        "POST",
        "/network-migration/ListNetworkMigrationDefinitions",
        200,
    ),
    route(
        "ListNetworkMigrationDeployedStacks",
        "POST",
        "/network-migration/ListNetworkMigrationDeployedStacks",
        200,
    ),
    route(
        "ListNetworkMigrationDeployments",
        "POST",
        "/network-migration/ListNetworkMigrationDeployments",
        200,
    ),
    route(
        "ListNetworkMigrationExecutions",
        "POST",
        "/network-migration/ListNetworkMigrationExecutions",
        200,
    ),
    route(
        "ListNetworkMigrationMapperSegmentConstructs",
        "POST",
        "/network-migration/ListNetworkMigrationMapperSegmentConstructs",
        200,
    ),
    route(
        "ListNetworkMigrationMapperSegments",
        "POST",
        "/network-migration/ListNetworkMigrationMapperSegments",
        200,
    ),
    route(
        "ListNetworkMigrationMappingUpdates",
        "POST",
        "/network-migration/ListNetworkMigrationMappingUpdates",
        200,
    ),
    route(
        "ListNetworkMigrationMappings",
        "POST",
        "/network-migration/ListNetworkMigrationMappings",
        200,
    ),
    route(
        "ListSourceServerActions",
        "POST",
        "/ListSourceServerActions",
        200,
    ),
    route("ListTagsForResource", "GET", "/tags/{resourceArn}", 200),
    route("ListTemplateActions", "POST", "/ListTemplateActions", 200),
    route("ListWaves", "POST", "/ListWaves", 200),
    route("MarkAsArchived", "POST", "/MarkAsArchived", 200),
    route("PauseReplication", "POST", "/PauseReplication", 200),
    route(
        "PutSourceServerAction",
        "POST",
        "/PutSourceServerAction",
        200,
    ),
    route("PutTemplateAction", "POST", "/PutTemplateAction", 200),
    route(
        "RemoveSourceServerAction",
        "POST",
        "/RemoveSourceServerAction",
        204,
    ),
    route("RemoveTemplateAction", "POST", "/RemoveTemplateAction", 204),
    route("ResumeReplication", "POST", "/ResumeReplication", 200),
    route("RetryDataReplication", "POST", "/RetryDataReplication", 200),
    route("StartCutover", "POST", "/StartCutover", 202),
    route("StartExport", "POST", "/StartExport", 202),
    route("StartImport", "POST", "/StartImport", 202),
    route(
        "StartImportFileEnrichment",
        "POST",
        "/network-migration/StartImportFileEnrichment",
        202,
    ),
    route(
        "StartNetworkMigrationAnalysis",
        "POST",
        "/network-migration/StartNetworkMigrationAnalysis",
        202,
    ),
    route(
        "StartNetworkMigrationCodeGeneration",
        "POST",
        "/network-migration/StartNetworkMigrationCodeGeneration",
        202,
    ),
    route(
        "StartNetworkMigrationDeployment",
        "POST",
        "/network-migration/StartNetworkMigrationDeployment",
        202,
    ),
    route(
        "StartNetworkMigrationMapping",
        "POST",
        "/network-migration/StartNetworkMigrationMapping",
        202,
    ),
    route(
        "StartNetworkMigrationMappingUpdate",
        "POST",
        "/network-migration/StartNetworkMigrationMappingUpdate",
        202,
    ),
    route("StartReplication", "POST", "/StartReplication", 200),
    route("StartTest", "POST", "/StartTest", 202),
    route("StopReplication", "POST", "/StopReplication", 200),
    route("TagResource", "POST", "/tags/{resourceArn}", 200),
    route(
        "TerminateTargetInstances",
        "POST",
        "/TerminateTargetInstances",
        202,
    ),
    route("UnarchiveApplication", "POST", "/UnarchiveApplication", 200),
    route("UnarchiveWave", "POST", "/UnarchiveWave", 200),
    route("UntagResource", "DELETE", "/tags/{resourceArn}", 200),
    route("UpdateApplication", "POST", "/UpdateApplication", 200),
    route("UpdateConnector", "POST", "/UpdateConnector", 200),
    route(
        "UpdateLaunchConfiguration",
        "POST",
        "/UpdateLaunchConfiguration",
        200,
    ),
    route(
        "UpdateLaunchConfigurationTemplate",
        "POST",
        "/UpdateLaunchConfigurationTemplate",
        200,
    ),
    route(
        "UpdateNetworkMigrationDefinition",
        "POST",
        "/network-migration/UpdateNetworkMigrationDefinition",
        200,
    ),
    route(
        "UpdateNetworkMigrationMapperSegment",
        "POST",
        "/network-migration/UpdateNetworkMigrationMapperSegment",
        200,
    ),
    route(
        "UpdateReplicationConfiguration",
        "POST",
        "/UpdateReplicationConfiguration",
        200,
    ),
    route(
        "UpdateReplicationConfigurationTemplate",
        "POST",
        "/UpdateReplicationConfigurationTemplate",
        200,
    ),
    route("UpdateSourceServer", "POST", "/UpdateSourceServer", 200),
    route(
        "UpdateSourceServerReplicationType",
        "POST",
        "/UpdateSourceServerReplicationType",
        200,
    ),
    route("UpdateWave", "POST", "/UpdateWave", 200),
];

/// The listings the model's paginators name: `nextToken` in and out, `maxResults` in.
pub const PAGINATED: &[&str] = &[
    "DescribeJobLogItems",
    "DescribeJobs",
    "DescribeLaunchConfigurationTemplates",
    "DescribeReplicationConfigurationTemplates",
    "DescribeSourceServers",
    "DescribeVcenterClients",
    "ListApplications",
    "ListConnectors",
    "ListExportErrors",
    "ListExports",
    "ListImportErrors",
    "ListImportFileEnrichments",
    "ListImports",
    "ListManagedAccounts",
    "ListNetworkMigrationAnalyses",
    "ListNetworkMigrationAnalysisResults",
    "ListNetworkMigrationCodeGenerationSegments",
    "ListNetworkMigrationCodeGenerations",
    "ListNetworkMigrationDefinitions",
    "ListNetworkMigrationDeployedStacks",
    "ListNetworkMigrationDeployments",
    "ListNetworkMigrationExecutions",
    "ListNetworkMigrationMapperSegmentConstructs",
    "ListNetworkMigrationMapperSegments",
    "ListNetworkMigrationMappingUpdates",
    "ListNetworkMigrationMappings",
    "ListSourceServerActions",
    "ListTemplateActions",
    "ListWaves",
];

/// The operations whose errors do not include UninitializedAccountException: the only
/// ones an account answers before InitializeService.
pub const BEFORE_INITIALIZE: &[&str] = &[
    "CreateNetworkMigrationDefinition",
    "DeleteNetworkMigrationDefinition",
    "GetNetworkMigrationDefinition",
    "GetNetworkMigrationMapperSegmentConstruct",
    "InitializeService",
    "ListImportFileEnrichments",
    "ListNetworkMigrationAnalyses",
    "ListNetworkMigrationAnalysisResults",
    "ListNetworkMigrationCodeGenerationSegments",
    "ListNetworkMigrationCodeGenerations",
    "ListNetworkMigrationDefinitions",
    "ListNetworkMigrationDeployedStacks",
    "ListNetworkMigrationDeployments",
    "ListNetworkMigrationExecutions",
    "ListNetworkMigrationMapperSegmentConstructs",
    "ListNetworkMigrationMapperSegments",
    "ListNetworkMigrationMappingUpdates",
    "ListNetworkMigrationMappings",
    "ListTagsForResource",
    "StartImportFileEnrichment",
    "StartNetworkMigrationAnalysis",
    "StartNetworkMigrationCodeGeneration",
    "StartNetworkMigrationDeployment",
    "StartNetworkMigrationMapping",
    "StartNetworkMigrationMappingUpdate",
    "TagResource",
    "UntagResource",
    "UpdateNetworkMigrationDefinition",
    "UpdateNetworkMigrationMapperSegment",
];

/// The route a request takes, with the value of the path's `{resourceArn}` label when it
/// has one; `None` when no operation of the model answers that method and path.
pub fn route_of<'a>(method: &str, path: &'a str) -> Option<(&'static Route, Option<&'a str>)> {
    ROUTES.iter().find_map(|route| {
        if route.method != method {
            return None;
        }
        match route.path.split_once('{') {
            None => (route.path == path).then_some((route, None)),
            Some((prefix, _)) => path
                .strip_prefix(prefix)
                .filter(|label| !label.is_empty())
                .map(|label| (route, Some(label))),
        }
    })
}

/// Why a request is not valid: the model's `ValidationExceptionReason`, which also
/// covers a request no operation answers and a body that cannot be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValidationReason {
    UnknownOperation,
    CannotParse,
    FieldValidationFailed,
    Other,
}

impl ValidationReason {
    /// Every value, as the model lists them.
    pub const ALL: &'static [ValidationReason] = &[
        ValidationReason::UnknownOperation,
        ValidationReason::CannotParse,
        ValidationReason::FieldValidationFailed,
        ValidationReason::Other,
    ];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownOperation => "unknownOperation",
            Self::CannotParse => "cannotParse",
            Self::FieldValidationFailed => "fieldValidationFailed",
            Self::Other => "other",
        }
    }
}

/// An error the stand-in answers with: the model's error shapes, then the protocol's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Model: 403.
    AccessDenied,
    /// Model: 409, with the resource and `errors`.
    Conflict,
    /// Model: 500.
    InternalServer,
    /// Model: 404, with the resource.
    ResourceNotFound,
    /// Model: 402.
    ServiceQuotaExceeded,
    /// Model: 429.
    Throttling,
    /// Model: 400, before InitializeService.
    UninitializedAccount,
    /// Model: 400, with `reason` ([`ValidationReason`]) and `fieldList`.
    Validation,
    /// Protocol: an unsigned request.
    MissingAuthenticationToken,
    /// Stand-in: an operation of the model it does not serve.
    NotImplemented,
}

impl ErrorKind {
    /// Errors whose names and statuses come from the model's exception shapes.
    pub const MODEL: &'static [ErrorKind] = &[
        ErrorKind::AccessDenied,
        ErrorKind::Conflict,
        ErrorKind::InternalServer,
        ErrorKind::ResourceNotFound,
        ErrorKind::ServiceQuotaExceeded,
        ErrorKind::Throttling,
        ErrorKind::UninitializedAccount,
        ErrorKind::Validation,
    ];

    /// The name clients match on (`x-amzn-ErrorType`).
    pub fn name(self) -> &'static str {
        match self {
            Self::AccessDenied => "AccessDeniedException",
            Self::Conflict => "ConflictException",
            Self::InternalServer => "InternalServerException",
            Self::ResourceNotFound => "ResourceNotFoundException",
            Self::ServiceQuotaExceeded => "ServiceQuotaExceededException",
            Self::Throttling => "ThrottlingException",
            Self::UninitializedAccount => "UninitializedAccountException",
            Self::Validation => "ValidationException",
            Self::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            Self::NotImplemented => "NotImplementedException",
        }
    }

    /// Its HTTP status.
    pub fn status(self) -> u16 {
        match self {
            Self::AccessDenied | Self::MissingAuthenticationToken => 403,
            Self::Conflict => 409,
            Self::InternalServer => 500,
            Self::ResourceNotFound => 404,
            Self::ServiceQuotaExceeded => 402,
            Self::Throttling => 429,
            Self::UninitializedAccount | Self::Validation => 400,
            Self::NotImplemented => 501,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_routed_by_method_and_path() {
        let (init, label) = route_of("POST", "/InitializeService").expect("routed");
        assert_eq!(
            (init.operation, init.success, label),
            ("InitializeService", 204, None)
        );
        let arn = "arn:aws:mgn:us-east-1:123456789012:source-server/s-1";
        let path = format!("/tags/{arn}");
        let (list, label) = route_of("GET", &path).expect("routed");
        assert_eq!((list.operation, label), ("ListTagsForResource", Some(arn)));
        let (untag, _) = route_of("DELETE", &path).expect("routed");
        assert_eq!(untag.operation, "UntagResource");
        assert_eq!(
            route_of("GET", "/InitializeService"),
            None,
            "the method matters"
        );
        assert_eq!(route_of("POST", "/tags/"), None, "a label is never empty");
        assert_eq!(route_of("POST", "/Nothing"), None);
    }

    #[test]
    fn every_operation_has_one_route() {
        let mut names: Vec<&str> = ROUTES.iter().map(|r| r.operation).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ROUTES.len());
        let mut places: Vec<(&str, &str)> = ROUTES.iter().map(|r| (r.method, r.path)).collect();
        places.sort_unstable();
        places.dedup();
        assert_eq!(
            places.len(),
            ROUTES.len(),
            "two operations at one method and path"
        );
    }
}
