"""Build function/ into an image in ECR, run it on Lambda, serve it through an HTTP API (the project is named
in Pulumi.yaml; infra/project.py)."""

from infra.config import FUNCTION_DIR, ROOT, load_settings
from infra.delivery import Delivery, DeliveryArgs, WarmUp, WarmUpArgs, health_event
from infra.deployment_preferences import ALL_AT_ONCE
from infra.function import Function, FunctionArgs
from infra.function_inputs import declared_permissions, deployable_events, public_routes
from infra.http_api import HttpApi, HttpApiArgs
from infra.monitoring import AlarmThresholds, Monitoring, MonitoringArgs
from infra.outputs import export_outputs
from infra.registry import ImageRegistry, ImageRegistryArgs
from infra.registry_names import NAME as REGISTRY
from infra.tags import standard_tags

# 1. Settings: every config key validated, the function contract (with its public routes) and the permissions
#    the function declares read, before anything is registered. Only the events a deployed stack may receive
#    (not marked "smoke": false) reach the new version's pre-traffic check and the warm-up.
settings = load_settings()
tags = standard_tags(settings.stack, settings.environment_class)
deployable = deployable_events(ROOT / FUNCTION_DIR)
permissions = declared_permissions(ROOT / FUNCTION_DIR, settings.stack)
public = public_routes(ROOT / FUNCTION_DIR) if settings.jwt_issuer else []
warm_up_event = health_event(deployable) if settings.warm_up_schedule else None

# 2. The image: ECR repository + the image built from function/, tagged by content, pushed.
registry = ImageRegistry(
    REGISTRY,
    ImageRegistryArgs(
        name=settings.prefix,
        context=FUNCTION_DIR,
        dockerfile=settings.dockerfile,
        platform=settings.platform,
        keep_images=settings.keep_images,
        force_delete=settings.force_delete,
        kms_key_arn=settings.kms_key_arn,
        cache_from=settings.cache_from,
        pinned_image=settings.pinned_image,
        tags=tags,
        root=ROOT,
    ),
)

# 3. The function, running the image by digest: each deploy publishes a version behind the alias `live`.
function = Function(
    "function",
    FunctionArgs(
        name=settings.prefix,
        image_uri=registry.image_uri,
        architecture=settings.architecture,
        memory_size=settings.memory_size,
        timeout=settings.timeout,
        ephemeral_storage=settings.ephemeral_storage,
        log_retention_days=settings.log_retention_days,
        tracing=settings.tracing,
        tags=tags,
        reserved_concurrency=settings.reserved_concurrency_or_none,
        provisioned_concurrency=settings.provisioned_concurrency,
        environment=settings.environment,
        environment_is_secret=settings.is_secret("environment"),
        secret_environment=settings.secret_environment,
        log_level=settings.log_level,
        system_log_level=settings.system_log_level,
        extra_policy_arns=settings.extra_policy_arns,
        permissions=permissions,
        vpc_subnet_ids=settings.vpc_subnet_ids,
        vpc_security_group_ids=settings.vpc_security_group_ids,
        snap_start=settings.snap_start,
    ),
)

# 4. The HTTP API in front of the alias: a JWT authorizer on every route but the contract's public ones, and
#    a Regional custom domain, when configured.
api = HttpApi(
    "api",
    HttpApiArgs(
        name=settings.prefix,
        function_name=function.function_name,
        invoke_arn=function.invoke_arn,
        qualifier=function.qualifier,
        function_timeout=settings.timeout,
        log_retention_days=settings.log_retention_days,
        throttle_rate_limit=settings.throttle_rate_limit,
        throttle_burst_limit=settings.throttle_burst_limit,
        tags=tags,
        cors_allow_origins=settings.cors_allow_origins,
        custom_domain=settings.custom_domain,
        certificate_arn=settings.certificate_arn,
        hosted_zone_id=settings.hosted_zone_id,
        jwt_issuer=settings.jwt_issuer,
        jwt_audiences=settings.jwt_audiences,
        public_routes=public,
    ),
)

# 5. Alarms to an SNS topic, and a dashboard.
monitoring = Monitoring(
    "monitoring",
    MonitoringArgs(
        name=settings.prefix,
        function_name=function.function_name,
        api_id=api.api_id,
        timeout_s=settings.timeout,
        reserved_concurrency=settings.reserved_concurrency_or_none,
        alarm_email=settings.alarm_email,
        # a CodeDeploy deployment watches alarms of the version it shifts to, not the whole function's
        new_version=function.version if settings.deployment_preference != ALL_AT_ONCE else None,
        alias_name=function.qualifier,
        tags=tags,
        thresholds=AlarmThresholds(
            errors=settings.alarm_error_threshold,
            throttles=settings.alarm_throttle_threshold,
            server_errors=settings.alarm5xx_threshold,
            duration_percent=settings.alarm_duration_percent,
            concurrency_percent=settings.alarm_concurrency_percent,
        ),
    ),
)

# 6. Delivery: smoke requests on the new version, then the alias moves (all at once or through CodeDeploy);
#    a schedule keeps the function Active.
delivery = Delivery(
    "delivery",
    DeliveryArgs(
        name=settings.prefix,
        function_name=function.function_name,
        function_arn=function.function_arn,
        version=function.version,
        alias_name=function.qualifier,
        repository_name=registry.repository_name,
        keep_versions=settings.keep_images,
        smoke_cases=deployable,
        alarm_names=monitoring.deployment_alarm_names,
        alarm_arns=monitoring.deployment_alarm_arns,
        alarms=list(monitoring.new_version_alarms.values()),
        preference=settings.deployment_preference,
        permissions_boundary=function.permissions_boundary,
        function_timeout=settings.timeout,
        max_init_duration_ms=settings.max_init_duration_ms,
        tags=tags,
    ),
)
if settings.warm_up_schedule and warm_up_event is not None:
    WarmUp(
        "warm-up",
        WarmUpArgs(
            name=settings.prefix,
            alias_arn=function.alias_arn,
            schedule=settings.warm_up_schedule,
            event=warm_up_event,
            tags=tags,
            permissions_boundary=function.permissions_boundary,
        ),
    )

# 7. The outputs contract.
export_outputs(
    {
        "apiUrl": api.api_url,
        "url": api.url,
        "domainTarget": api.domain_target,
        "domainHostedZoneId": api.domain_hosted_zone_id,
        "jwtIssuer": settings.jwt_issuer or "",
        "apiId": api.api_id,
        "functionName": function.function_name,
        "functionArn": function.function_arn,
        "invokeArn": function.invoke_arn,
        "imageUri": registry.image_uri,
        "repositoryUrl": registry.repository_url,
        "repositoryName": registry.repository_name,
        "roleArn": function.role_arn,
        "logGroupName": function.log_group_name,
        "alarmTopicArn": monitoring.alarm_topic_arn,
        "dashboardUrl": monitoring.dashboard_url,
    }
)
