//! The MGN wire protocol as the official model states it (restJson1): every operation
//! of `mgn-2020-02-26` with its HTTP method, URI and success code, so requests are routed
//! by method and path (never by `X-Amz-Target`), and the error shapes with their HTTP
//! statuses, plus the few protocol-level errors every AWS REST service shares.
//!
//! Everything the stand-in puts on the wire comes from these tables, and the conformance
//! test (`local/tests/suite/mgn_conformance.rs`) checks them against the model file.

/// Where an operation's URI puts its name, as the model's `requestUri`s do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    /// `/{operation}`.
    Operation,
    /// `/network-migration/{operation}`.
    NetworkMigration,
    /// `/tags/{resourceArn}`: the path label is the resource's ARN.
    Tags,
}

/// One operation's place on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The model's operation name.
    pub operation: &'static str,
    pub method: &'static str,
    pub path: PathKind,
    /// The HTTP status of a success (`http.responseCode`, 200 when the model gives none).
    pub success: u16,
}

impl Route {
    /// The request URI as the model writes it (`{resourceArn}` for the label).
    pub fn uri(&self) -> String {
        match self.path {
            PathKind::Operation => format!("/{}", self.operation),
            PathKind::NetworkMigration => format!("/network-migration/{}", self.operation),
            PathKind::Tags => "/tags/{resourceArn}".to_owned(),
        }
    }

    /// Whether `path` is this route's, with the value of its label when it has one.
    fn matches<'a>(&self, path: &'a str) -> Option<Option<&'a str>> {
        match self.path {
            PathKind::Operation => (path.strip_prefix('/') == Some(self.operation)).then_some(None),
            PathKind::NetworkMigration => {
                (path.strip_prefix("/network-migration/") == Some(self.operation)).then_some(None)
            }
            PathKind::Tags => path
                .strip_prefix("/tags/")
                .filter(|label| !label.is_empty())
                .map(Some),
        }
    }
}

const fn post(operation: &'static str, success: u16) -> Route {
    Route {
        operation,
        method: "POST",
        path: PathKind::Operation,
        success,
    }
}

const fn get(operation: &'static str, success: u16) -> Route {
    Route {
        method: "GET",
        ..post(operation, success)
    }
}

const fn network(operation: &'static str, success: u16) -> Route {
    Route {
        path: PathKind::NetworkMigration,
        ..post(operation, success)
    }
}

const fn tags(operation: &'static str, method: &'static str) -> Route {
    Route {
        operation,
        method,
        path: PathKind::Tags,
        success: 200,
    }
}

/// Every operation of the model, by name.
pub const ROUTES: &[Route] = &[
    post("ArchiveApplication", 200),
    post("ArchiveWave", 200),
    post("AssociateApplications", 200),
    post("AssociateSourceServers", 200),
    post("ChangeServerLifeCycleState", 200),
    post("CreateApplication", 201),
    post("CreateConnector", 201),
    post("CreateLaunchConfigurationTemplate", 201),
    network("CreateNetworkMigrationDefinition", 201),
    post("CreateReplicationConfigurationTemplate", 201),
    post("CreateWave", 201),
    post("DeleteApplication", 204),
    post("DeleteConnector", 204),
    post("DeleteJob", 204),
    post("DeleteLaunchConfigurationTemplate", 204),
    network("DeleteNetworkMigrationDefinition", 204),
    post("DeleteReplicationConfigurationTemplate", 204),
    post("DeleteSourceServer", 204),
    post("DeleteVcenterClient", 204),
    post("DeleteWave", 204),
    post("DescribeJobLogItems", 200),
    post("DescribeJobs", 200),
    post("DescribeLaunchConfigurationTemplates", 200),
    post("DescribeReplicationConfigurationTemplates", 200),
    post("DescribeSourceServers", 200),
    get("DescribeVcenterClients", 200),
    post("DisassociateApplications", 200),
    post("DisassociateSourceServers", 200),
    post("DisconnectFromService", 200),
    post("FinalizeCutover", 200),
    post("GetLaunchConfiguration", 200),
    network("GetNetworkMigrationDefinition", 200),
    network("GetNetworkMigrationMapperSegmentConstruct", 200),
    post("GetReplicationConfiguration", 200),
    post("InitializeService", 204),
    post("ListApplications", 200),
    post("ListConnectors", 200),
    post("ListExportErrors", 200),
    post("ListExports", 200),
    post("ListImportErrors", 200),
    network("ListImportFileEnrichments", 200),
    post("ListImports", 200),
    post("ListManagedAccounts", 200),
    network("ListNetworkMigrationAnalyses", 200),
    network("ListNetworkMigrationAnalysisResults", 200),
    network("ListNetworkMigrationCodeGenerationSegments", 200),
    network("ListNetworkMigrationCodeGenerations", 200),
    network("ListNetworkMigrationDefinitions", 200),
    network("ListNetworkMigrationDeployedStacks", 200),
    network("ListNetworkMigrationDeployments", 200),
    network("ListNetworkMigrationExecutions", 200),
    network("ListNetworkMigrationMapperSegmentConstructs", 200),
    network("ListNetworkMigrationMapperSegments", 200),
    network("ListNetworkMigrationMappingUpdates", 200),
    network("ListNetworkMigrationMappings", 200),
    post("ListSourceServerActions", 200),
    tags("ListTagsForResource", "GET"),
    post("ListTemplateActions", 200),
    post("ListWaves", 200),
    post("MarkAsArchived", 200),
    post("PauseReplication", 200),
    post("PutSourceServerAction", 200),
    post("PutTemplateAction", 200),
    post("RemoveSourceServerAction", 204),
    post("RemoveTemplateAction", 204),
    post("ResumeReplication", 200),
    post("RetryDataReplication", 200),
    post("StartCutover", 202),
    post("StartExport", 202),
    post("StartImport", 202),
    network("StartImportFileEnrichment", 202),
    network("StartNetworkMigrationAnalysis", 202),
    network("StartNetworkMigrationCodeGeneration", 202),
    network("StartNetworkMigrationDeployment", 202),
    network("StartNetworkMigrationMapping", 202),
    network("StartNetworkMigrationMappingUpdate", 202),
    post("StartReplication", 200),
    post("StartTest", 202),
    post("StopReplication", 200),
    tags("TagResource", "POST"),
    post("TerminateTargetInstances", 202),
    post("UnarchiveApplication", 200),
    post("UnarchiveWave", 200),
    tags("UntagResource", "DELETE"),
    post("UpdateApplication", 200),
    post("UpdateConnector", 200),
    post("UpdateLaunchConfiguration", 200),
    post("UpdateLaunchConfigurationTemplate", 200),
    network("UpdateNetworkMigrationDefinition", 200),
    network("UpdateNetworkMigrationMapperSegment", 200),
    post("UpdateReplicationConfiguration", 200),
    post("UpdateReplicationConfigurationTemplate", 200),
    post("UpdateSourceServer", 200),
    post("UpdateSourceServerReplicationType", 200),
    post("UpdateWave", 200),
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
    ROUTES
        .iter()
        .filter(|route| route.method == method)
        .find_map(|route| route.matches(path).map(|label| (route, label)))
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
        let mut places: Vec<(&str, String)> = ROUTES.iter().map(|r| (r.method, r.uri())).collect();
        places.sort_unstable();
        places.dedup();
        assert_eq!(
            places.len(),
            ROUTES.len(),
            "two operations at one method and path"
        );
    }
}
