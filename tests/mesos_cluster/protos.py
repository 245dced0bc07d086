"""The v1 messages the test cluster reads and writes, as a table (from Mesos 1.11's protos).

``MESSAGES`` maps a message's full name (nested ones dotted, ``scheduler.`` / ``executor.``
for the two APIs) to its fields, one ``name:Type`` per field: ``!`` marks a required field,
``*`` a repeated one, ``{Type}`` a map from string keys. A type is a scalar (``string``,
``bytes`` (base64 in JSON), ``bool``, ``double``, ``int32`` ...), a message of ``MESSAGES``
or an enum of ``ENUMS`` (values as strings, as Mesos's JSON has them). ``schema.py``
validates against it.
"""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    "Address": "hostname:string ip:string port:int32!",
    "AgentID": "value:string!",
    "AgentInfo": (
        "hostname:string! port:int32 resources:Resource* attributes:Attribute* id:AgentID "
        "domain:DomainInfo"
    ),
    "Attribute": (
        "name:string! type:Value.Type! scalar:Value.Scalar ranges:Value.Ranges set:Value.Set "
        "text:Value.Text"
    ),
    "CapabilityInfo": "capabilities:CapabilityInfo.Capability*",
    "CgroupInfo": "net_cls:CgroupInfo.NetCls",
    "CgroupInfo.NetCls": "classid:uint32",
    "CheckInfo": (
        "type:CheckInfo.Type command:CheckInfo.Command http:CheckInfo.Http tcp:CheckInfo.Tcp "
        "delay_seconds:double interval_seconds:double timeout_seconds:double"
    ),
    "CheckInfo.Command": "command:CommandInfo!",
    "CheckInfo.Http": "port:uint32! path:string",
    "CheckInfo.Tcp": "port:uint32!",
    "CheckStatusInfo": (
        "type:CheckInfo.Type command:CheckStatusInfo.Command http:CheckStatusInfo.Http "
        "tcp:CheckStatusInfo.Tcp"
    ),
    "CheckStatusInfo.Command": "exit_code:int32",
    "CheckStatusInfo.Http": "status_code:uint32",
    "CheckStatusInfo.Tcp": "succeeded:bool",
    "CommandInfo": (
        "uris:CommandInfo.URI* environment:Environment shell:bool value:string arguments:string* "
        "user:string"
    ),
    "CommandInfo.URI": "value:string! executable:bool extract:bool cache:bool output_file:string",
    "ContainerID": "value:string! parent:ContainerID",
    "ContainerInfo": (
        "type:ContainerInfo.Type! volumes:Volume* hostname:string docker:ContainerInfo.DockerInfo "
        "mesos:ContainerInfo.MesosInfo network_infos:NetworkInfo* linux_info:LinuxInfo "
        "rlimit_info:RLimitInfo tty_info:TTYInfo"
    ),
    "ContainerInfo.DockerInfo": (
        "image:string! network:ContainerInfo.DockerInfo.Network "
        "port_mappings:ContainerInfo.DockerInfo.PortMapping* privileged:bool parameters:Parameter* "
        "force_pull_image:bool volume_driver:string"
    ),
    "ContainerInfo.DockerInfo.PortMapping": (
        "host_port:uint32! container_port:uint32! protocol:string"
    ),
    "ContainerInfo.MesosInfo": "image:Image",
    "ContainerStatus": (
        "container_id:ContainerID network_infos:NetworkInfo* cgroup_info:CgroupInfo "
        "executor_pid:uint32"
    ),
    "Credential": "principal:string! secret:string",
    "DiscoveryInfo": (
        "visibility:DiscoveryInfo.Visibility! name:string environment:string location:string "
        "version:string ports:Ports labels:Labels"
    ),
    "DomainInfo": "fault_domain:DomainInfo.FaultDomain",
    "DomainInfo.FaultDomain": (
        "region:DomainInfo.FaultDomain.RegionInfo! zone:DomainInfo.FaultDomain.ZoneInfo!"
    ),
    "DomainInfo.FaultDomain.RegionInfo": "name:string!",
    "DomainInfo.FaultDomain.ZoneInfo": "name:string!",
    "DurationInfo": "nanoseconds:int64!",
    "Environment": "variables:Environment.Variable*",
    "Environment.Variable": (
        "name:string! type:Environment.Variable.Type value:string secret:Secret"
    ),
    "ExecutorID": "value:string!",
    "ExecutorInfo": (
        "type:ExecutorInfo.Type executor_id:ExecutorID! framework_id:FrameworkID "
        "command:CommandInfo container:ContainerInfo resources:Resource* name:string source:string "
        "data:bytes discovery:DiscoveryInfo shutdown_grace_period:DurationInfo labels:Labels"
    ),
    "Filters": "refuse_seconds:double",
    "FrameworkID": "value:string!",
    "FrameworkInfo": (
        "user:string! name:string! id:FrameworkID failover_timeout:double checkpoint:bool "
        "role:string roles:string* hostname:string principal:string webui_url:string "
        "capabilities:FrameworkInfo.Capability* labels:Labels offer_filters:{OfferFilters}"
    ),
    "FrameworkInfo.Capability": "type:FrameworkInfo.Capability.Type",
    "HealthCheck": (
        "delay_seconds:double interval_seconds:double timeout_seconds:double "
        "consecutive_failures:uint32 grace_period_seconds:double type:HealthCheck.Type "
        "command:CommandInfo http:HealthCheck.HTTPCheckInfo tcp:HealthCheck.TCPCheckInfo"
    ),
    "HealthCheck.HTTPCheckInfo": (
        "protocol:NetworkInfo.Protocol scheme:string port:uint32! path:string statuses:uint32*"
    ),
    "HealthCheck.TCPCheckInfo": "protocol:NetworkInfo.Protocol port:uint32!",
    "Image": "type:Image.Type! appc:Image.Appc docker:Image.Docker cached:bool",
    "Image.Appc": "name:string! id:string labels:Labels",
    "Image.Docker": "name:string! credential:Credential config:Secret",
    "InverseOffer": (
        "id:OfferID! url:URL framework_id:FrameworkID! agent_id:AgentID "
        "unavailability:Unavailability! resources:Resource*"
    ),
    "KillPolicy": "grace_period:DurationInfo",
    "Label": "key:string! value:string",
    "Labels": "labels:Label*",
    "LinuxInfo": (
        "capability_info:CapabilityInfo bounding_capabilities:CapabilityInfo "
        "effective_capabilities:CapabilityInfo share_pid_namespace:bool seccomp:SeccompInfo "
        "ipc_mode:LinuxInfo.IpcMode shm_size:uint32 share_cgroups:bool"
    ),
    "MasterInfo": (
        "id:string! ip:uint32! port:uint32! pid:string hostname:string version:string "
        "address:Address domain:DomainInfo capabilities:MasterInfo.Capability*"
    ),
    "MasterInfo.Capability": "type:MasterInfo.Capability.Type",
    "MountPropagation": "mode:MountPropagation.Mode",
    "NetworkInfo": (
        "ip_addresses:NetworkInfo.IPAddress* name:string groups:string* labels:Labels "
        "port_mappings:NetworkInfo.PortMapping*"
    ),
    "NetworkInfo.IPAddress": "protocol:NetworkInfo.Protocol ip_address:string",
    "NetworkInfo.PortMapping": "host_port:uint32! container_port:uint32! protocol:string",
    "Offer": (
        "id:OfferID! framework_id:FrameworkID! agent_id:AgentID! hostname:string! url:URL "
        "domain:DomainInfo resources:Resource* attributes:Attribute* executor_ids:ExecutorID* "
        "unavailability:Unavailability allocation_info:Resource.AllocationInfo"
    ),
    "Offer.Operation": (
        "type:Offer.Operation.Type id:OperationID launch:Offer.Operation.Launch "
        "launch_group:Offer.Operation.LaunchGroup reserve:Offer.Operation.Reserve "
        "unreserve:Offer.Operation.Unreserve create:Offer.Operation.Create "
        "destroy:Offer.Operation.Destroy grow_volume:Offer.Operation.GrowVolume "
        "shrink_volume:Offer.Operation.ShrinkVolume create_disk:Offer.Operation.CreateDisk "
        "destroy_disk:Offer.Operation.DestroyDisk"
    ),
    "Offer.Operation.Create": "volumes:Resource*",
    "Offer.Operation.CreateDisk": (
        "source:Resource! target_type:Resource.DiskInfo.Source.Type! target_profile:string"
    ),
    "Offer.Operation.Destroy": "volumes:Resource*",
    "Offer.Operation.DestroyDisk": "source:Resource!",
    "Offer.Operation.GrowVolume": "volume:Resource! addition:Resource!",
    "Offer.Operation.Launch": "task_infos:TaskInfo*",
    "Offer.Operation.LaunchGroup": "executor:ExecutorInfo! task_group:TaskGroupInfo!",
    "Offer.Operation.Reserve": "source:Resource* resources:Resource*",
    "Offer.Operation.ShrinkVolume": "volume:Resource! subtract:Value.Scalar!",
    "Offer.Operation.Unreserve": "resources:Resource*",
    "OfferFilters": "min_allocatable_resources:OfferFilters.MinAllocatableResources",
    "OfferFilters.MinAllocatableResources": "quantities:OfferFilters.ResourceQuantities*",
    "OfferFilters.ResourceQuantities": "quantities:{Value.Scalar}",
    "OfferID": "value:string!",
    "OperationID": "value:string!",
    "OperationStatus": (
        "operation_id:OperationID state:OperationState! message:string "
        "converted_resources:Resource* uuid:UUID agent_id:AgentID "
        "resource_provider_id:ResourceProviderID"
    ),
    "Parameter": "key:string! value:string!",
    "Parameters": "parameter:Parameter*",
    "Port": (
        "number:uint32! name:string protocol:string visibility:DiscoveryInfo.Visibility "
        "labels:Labels"
    ),
    "Ports": "ports:Port*",
    "RLimitInfo": "rlimits:RLimitInfo.RLimit*",
    "RLimitInfo.RLimit": "type:RLimitInfo.RLimit.Type hard:uint64 soft:uint64",
    "Request": "agent_id:AgentID resources:Resource*",
    "Resource": (
        "provider_id:ResourceProviderID name:string! type:Value.Type! scalar:Value.Scalar "
        "ranges:Value.Ranges set:Value.Set role:string allocation_info:Resource.AllocationInfo "
        "reservation:Resource.ReservationInfo reservations:Resource.ReservationInfo* "
        "disk:Resource.DiskInfo revocable:Resource.RevocableInfo shared:Resource.SharedInfo"
    ),
    "Resource.AllocationInfo": "role:string",
    "Resource.DiskInfo": (
        "persistence:Resource.DiskInfo.Persistence volume:Volume source:Resource.DiskInfo.Source"
    ),
    "Resource.DiskInfo.Persistence": "id:string! principal:string",
    "Resource.DiskInfo.Source": (
        "type:Resource.DiskInfo.Source.Type! path:Resource.DiskInfo.Source.Path "
        "mount:Resource.DiskInfo.Source.Mount vendor:string id:string metadata:Labels "
        "profile:string"
    ),
    "Resource.DiskInfo.Source.Mount": "root:string",
    "Resource.DiskInfo.Source.Path": "root:string",
    "Resource.ReservationInfo": (
        "type:Resource.ReservationInfo.Type role:string principal:string labels:Labels"
    ),
    "Resource.RevocableInfo": "",
    "Resource.SharedInfo": "",
    "ResourceProviderID": "value:string!",
    "SeccompInfo": "profile_name:string unconfined:bool",
    "Secret": "type:Secret.Type reference:Secret.Reference value:Secret.Value",
    "Secret.Reference": "name:string! key:string",
    "Secret.Value": "data:bytes!",
    "TTYInfo": "window_size:TTYInfo.WindowSize",
    "TTYInfo.WindowSize": "rows:uint32! columns:uint32!",
    "TaskGroupInfo": "tasks:TaskInfo*",
    "TaskID": "value:string!",
    "TaskInfo": (
        "name:string! task_id:TaskID! agent_id:AgentID! resources:Resource* executor:ExecutorInfo "
        "command:CommandInfo container:ContainerInfo health_check:HealthCheck check:CheckInfo "
        "kill_policy:KillPolicy data:bytes labels:Labels discovery:DiscoveryInfo "
        "max_completion_time:DurationInfo limits:{Value.Scalar}"
    ),
    "TaskResourceLimitation": "resources:Resource*",
    "TaskStatus": (
        "task_id:TaskID! state:TaskState! message:string source:TaskStatus.Source "
        "reason:TaskStatus.Reason data:bytes agent_id:AgentID executor_id:ExecutorID "
        "timestamp:double uuid:bytes healthy:bool check_status:CheckStatusInfo labels:Labels "
        "container_status:ContainerStatus unreachable_time:TimeInfo "
        "limitation:TaskResourceLimitation"
    ),
    "TimeInfo": "nanoseconds:int64!",
    "URL": "scheme:string! address:Address! path:string query:Parameter* fragment:string",
    "UUID": "value:bytes!",
    "Unavailability": "start:TimeInfo! duration:DurationInfo",
    "Value.Range": "begin:uint64! end:uint64!",
    "Value.Ranges": "range:Value.Range*",
    "Value.Scalar": "value:double!",
    "Value.Set": "item:string*",
    "Value.Text": "value:string!",
    "Volume": (
        "mode:Volume.Mode! container_path:string! host_path:string image:Image source:Volume.Source"
    ),
    "Volume.Source": (
        "type:Volume.Source.Type docker_volume:Volume.Source.DockerVolume "
        "host_path:Volume.Source.HostPath sandbox_path:Volume.Source.SandboxPath secret:Secret "
        "csi_volume:Volume.Source.CSIVolume"
    ),
    "Volume.Source.CSIVolume": (
        "plugin_name:string! static_provisioning:Volume.Source.CSIVolume.StaticProvisioning"
    ),
    "Volume.Source.CSIVolume.StaticProvisioning": (
        "volume_id:string! volume_capability:Volume.Source.CSIVolume.VolumeCapability! "
        "node_stage_secrets:{Secret} node_publish_secrets:{Secret} volume_context:{string}"
    ),
    "Volume.Source.CSIVolume.VolumeCapability": (
        "block:Volume.Source.CSIVolume.VolumeCapability.BlockVolume "
        "mount:Volume.Source.CSIVolume.VolumeCapability.MountVolume "
        "access_mode:Volume.Source.CSIVolume.VolumeCapability.AccessMode!"
    ),
    "Volume.Source.CSIVolume.VolumeCapability.AccessMode": (
        "mode:Volume.Source.CSIVolume.VolumeCapability.AccessMode.Mode!"
    ),
    "Volume.Source.CSIVolume.VolumeCapability.BlockVolume": "",
    "Volume.Source.CSIVolume.VolumeCapability.MountVolume": "fs_type:string mount_flags:string*",
    "Volume.Source.DockerVolume": "driver:string name:string! driver_options:Parameters",
    "Volume.Source.HostPath": "path:string! mount_propagation:MountPropagation",
    "Volume.Source.SandboxPath": "type:Volume.Source.SandboxPath.Type path:string!",
    "executor.Call": (
        "executor_id:ExecutorID! framework_id:FrameworkID! type:executor.Call.Type "
        "subscribe:executor.Call.Subscribe update:executor.Call.Update "
        "message:executor.Call.Message"
    ),
    "executor.Call.Message": "data:bytes!",
    "executor.Call.Subscribe": (
        "unacknowledged_tasks:TaskInfo* unacknowledged_updates:executor.Call.Update*"
    ),
    "executor.Call.Update": "status:TaskStatus!",
    "executor.Event": (
        "type:executor.Event.Type subscribed:executor.Event.Subscribed "
        "acknowledged:executor.Event.Acknowledged launch:executor.Event.Launch "
        "launch_group:executor.Event.LaunchGroup kill:executor.Event.Kill "
        "message:executor.Event.Message error:executor.Event.Error"
    ),
    "executor.Event.Acknowledged": "task_id:TaskID! uuid:bytes!",
    "executor.Event.Error": "message:string!",
    "executor.Event.Kill": "task_id:TaskID! kill_policy:KillPolicy",
    "executor.Event.Launch": "task:TaskInfo!",
    "executor.Event.LaunchGroup": "task_group:TaskGroupInfo!",
    "executor.Event.Message": "data:bytes!",
    "executor.Event.Subscribed": (
        "executor_info:ExecutorInfo! framework_info:FrameworkInfo! agent_info:AgentInfo! "
        "container_id:ContainerID"
    ),
    "scheduler.AttributeConstraint": (
        "selector:scheduler.AttributeConstraint.Selector! "
        "predicate:scheduler.AttributeConstraint.Predicate!"
    ),
    "scheduler.AttributeConstraint.Predicate": (
        "exists:scheduler.AttributeConstraint.Predicate.Exists "
        "not_exists:scheduler.AttributeConstraint.Predicate.NotExists "
        "text_equals:scheduler.AttributeConstraint.Predicate.TextEquals "
        "text_not_equals:scheduler.AttributeConstraint.Predicate.TextNotEquals "
        "text_matches:scheduler.AttributeConstraint.Predicate.TextMatches "
        "text_not_matches:scheduler.AttributeConstraint.Predicate.TextNotMatches"
    ),
    "scheduler.AttributeConstraint.Predicate.Exists": "",
    "scheduler.AttributeConstraint.Predicate.NotExists": "",
    "scheduler.AttributeConstraint.Predicate.TextEquals": "value:string!",
    "scheduler.AttributeConstraint.Predicate.TextMatches": "regex:string!",
    "scheduler.AttributeConstraint.Predicate.TextNotEquals": "value:string!",
    "scheduler.AttributeConstraint.Predicate.TextNotMatches": "regex:string!",
    "scheduler.AttributeConstraint.Selector": (
        "pseudoattribute_type:scheduler.AttributeConstraint.Selector.PseudoattributeType "
        "attribute_name:string"
    ),
    "scheduler.Call": (
        "framework_id:FrameworkID type:scheduler.Call.Type subscribe:scheduler.Call.Subscribe "
        "accept:scheduler.Call.Accept decline:scheduler.Call.Decline "
        "accept_inverse_offers:scheduler.Call.AcceptInverseOffers "
        "decline_inverse_offers:scheduler.Call.DeclineInverseOffers revive:scheduler.Call.Revive "
        "kill:scheduler.Call.Kill shutdown:scheduler.Call.Shutdown "
        "acknowledge:scheduler.Call.Acknowledge "
        "acknowledge_operation_status:scheduler.Call.AcknowledgeOperationStatus "
        "reconcile:scheduler.Call.Reconcile "
        "reconcile_operations:scheduler.Call.ReconcileOperations "
        "message:scheduler.Call.Message request:scheduler.Call.Request "
        "suppress:scheduler.Call.Suppress update_framework:scheduler.Call.UpdateFramework"
    ),
    "scheduler.Call.Accept": "offer_ids:OfferID* operations:Offer.Operation* filters:Filters",
    "scheduler.Call.AcceptInverseOffers": "inverse_offer_ids:OfferID* filters:Filters",
    "scheduler.Call.Acknowledge": "agent_id:AgentID! task_id:TaskID! uuid:bytes!",
    "scheduler.Call.AcknowledgeOperationStatus": (
        "agent_id:AgentID resource_provider_id:ResourceProviderID uuid:bytes! "
        "operation_id:OperationID!"
    ),
    "scheduler.Call.Decline": "offer_ids:OfferID* filters:Filters",
    "scheduler.Call.DeclineInverseOffers": "inverse_offer_ids:OfferID* filters:Filters",
    "scheduler.Call.Kill": "task_id:TaskID! agent_id:AgentID kill_policy:KillPolicy",
    "scheduler.Call.Message": "agent_id:AgentID! executor_id:ExecutorID! data:bytes!",
    "scheduler.Call.Reconcile": "tasks:scheduler.Call.Reconcile.Task*",
    "scheduler.Call.Reconcile.Task": "task_id:TaskID! agent_id:AgentID",
    "scheduler.Call.ReconcileOperations": (
        "operations:scheduler.Call.ReconcileOperations.Operation*"
    ),
    "scheduler.Call.ReconcileOperations.Operation": (
        "operation_id:OperationID! agent_id:AgentID resource_provider_id:ResourceProviderID"
    ),
    "scheduler.Call.Request": "requests:Request*",
    "scheduler.Call.Revive": "roles:string*",
    "scheduler.Call.Shutdown": "executor_id:ExecutorID! agent_id:AgentID!",
    "scheduler.Call.Subscribe": (
        "framework_info:FrameworkInfo! suppressed_roles:string* "
        "offer_constraints:scheduler.OfferConstraints"
    ),
    "scheduler.Call.Suppress": "roles:string*",
    "scheduler.Call.UpdateFramework": (
        "framework_info:FrameworkInfo! suppressed_roles:string* "
        "offer_constraints:scheduler.OfferConstraints"
    ),
    "scheduler.Event": (
        "type:scheduler.Event.Type subscribed:scheduler.Event.Subscribed "
        "offers:scheduler.Event.Offers inverse_offers:scheduler.Event.InverseOffers "
        "rescind:scheduler.Event.Rescind rescind_inverse_offer:scheduler.Event.RescindInverseOffer "
        "update:scheduler.Event.Update "
        "update_operation_status:scheduler.Event.UpdateOperationStatus "
        "message:scheduler.Event.Message failure:scheduler.Event.Failure "
        "error:scheduler.Event.Error"
    ),
    "scheduler.Event.Error": "message:string!",
    "scheduler.Event.Failure": "agent_id:AgentID executor_id:ExecutorID status:int32",
    "scheduler.Event.InverseOffers": "inverse_offers:InverseOffer*",
    "scheduler.Event.Message": "agent_id:AgentID! executor_id:ExecutorID! data:bytes!",
    "scheduler.Event.Offers": "offers:Offer*",
    "scheduler.Event.Rescind": "offer_id:OfferID!",
    "scheduler.Event.RescindInverseOffer": "inverse_offer_id:OfferID!",
    "scheduler.Event.Subscribed": (
        "framework_id:FrameworkID! heartbeat_interval_seconds:double master_info:MasterInfo"
    ),
    "scheduler.Event.Update": "status:TaskStatus!",
    "scheduler.Event.UpdateOperationStatus": "status:OperationStatus!",
    "scheduler.OfferConstraints": "role_constraints:{scheduler.OfferConstraints.RoleConstraints}",
    "scheduler.OfferConstraints.RoleConstraints": (
        "groups:scheduler.OfferConstraints.RoleConstraints.Group*"
    ),
    "scheduler.OfferConstraints.RoleConstraints.Group": (
        "attribute_constraints:scheduler.AttributeConstraint*"
    ),}

ENUMS: dict[str, str] = {
    "CapabilityInfo.Capability": (
        "UNKNOWN CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP "
        "LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER "
        "SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE "
        "SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP "
        "MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF "
        "CHECKPOINT_RESTORE"
    ),
    "CheckInfo.Type": "UNKNOWN COMMAND HTTP TCP",
    "ContainerInfo.DockerInfo.Network": "HOST BRIDGE NONE USER",
    "ContainerInfo.Type": "DOCKER MESOS",
    "DiscoveryInfo.Visibility": "FRAMEWORK CLUSTER EXTERNAL",
    "Environment.Variable.Type": "UNKNOWN VALUE SECRET",
    "ExecutorInfo.Type": "UNKNOWN DEFAULT CUSTOM",
    "FrameworkInfo.Capability.Type": (
        "UNKNOWN REVOCABLE_RESOURCES TASK_KILLING_STATE GPU_RESOURCES SHARED_RESOURCES "
        "PARTITION_AWARE MULTI_ROLE RESERVATION_REFINEMENT REGION_AWARE"
    ),
    "HealthCheck.Type": "UNKNOWN COMMAND HTTP TCP",
    "Image.Type": "APPC DOCKER",
    "LinuxInfo.IpcMode": "UNKNOWN PRIVATE SHARE_PARENT",
    "MasterInfo.Capability.Type": "UNKNOWN AGENT_UPDATE AGENT_DRAINING QUOTA_V2",
    "MountPropagation.Mode": "UNKNOWN HOST_TO_CONTAINER BIDIRECTIONAL",
    "NetworkInfo.Protocol": "IPv4 IPv6",
    "Offer.Operation.Type": (
        "UNKNOWN LAUNCH LAUNCH_GROUP RESERVE UNRESERVE CREATE DESTROY GROW_VOLUME SHRINK_VOLUME "
        "CREATE_DISK DESTROY_DISK"
    ),
    "OperationState": (
        "OPERATION_UNSUPPORTED OPERATION_PENDING OPERATION_FINISHED OPERATION_FAILED "
        "OPERATION_ERROR OPERATION_DROPPED OPERATION_UNREACHABLE OPERATION_GONE_BY_OPERATOR "
        "OPERATION_RECOVERING OPERATION_UNKNOWN"
    ),
    "RLimitInfo.RLimit.Type": (
        "UNKNOWN RLMT_AS RLMT_CORE RLMT_CPU RLMT_DATA RLMT_FSIZE RLMT_LOCKS RLMT_MEMLOCK "
        "RLMT_MSGQUEUE RLMT_NICE RLMT_NOFILE RLMT_NPROC RLMT_RSS RLMT_RTPRIO RLMT_RTTIME "
        "RLMT_SIGPENDING RLMT_STACK"
    ),
    "Resource.DiskInfo.Source.Type": "UNKNOWN PATH MOUNT BLOCK RAW",
    "Resource.ReservationInfo.Type": "UNKNOWN STATIC DYNAMIC",
    "Secret.Type": "UNKNOWN REFERENCE VALUE",
    "TaskState": (
        "TASK_STAGING TASK_STARTING TASK_RUNNING TASK_KILLING TASK_FINISHED TASK_FAILED "
        "TASK_KILLED TASK_ERROR TASK_LOST TASK_DROPPED TASK_UNREACHABLE TASK_GONE "
        "TASK_GONE_BY_OPERATOR TASK_UNKNOWN"
    ),
    "TaskStatus.Reason": (
        "REASON_COMMAND_EXECUTOR_FAILED REASON_CONTAINER_LAUNCH_FAILED REASON_CONTAINER_LIMITATION "
        "REASON_CONTAINER_LIMITATION_DISK REASON_CONTAINER_LIMITATION_MEMORY "
        "REASON_CONTAINER_PREEMPTED REASON_CONTAINER_UPDATE_FAILED "
        "REASON_MAX_COMPLETION_TIME_REACHED REASON_EXECUTOR_REGISTRATION_TIMEOUT "
        "REASON_EXECUTOR_REREGISTRATION_TIMEOUT REASON_EXECUTOR_TERMINATED "
        "REASON_EXECUTOR_UNREGISTERED REASON_FRAMEWORK_REMOVED REASON_GC_ERROR "
        "REASON_INVALID_FRAMEWORKID REASON_INVALID_OFFERS REASON_IO_SWITCHBOARD_EXITED "
        "REASON_MASTER_DISCONNECTED REASON_RECONCILIATION REASON_RESOURCES_UNKNOWN "
        "REASON_AGENT_DISCONNECTED REASON_AGENT_DRAINING REASON_AGENT_REMOVED "
        "REASON_AGENT_REMOVED_BY_OPERATOR REASON_AGENT_REREGISTERED REASON_AGENT_RESTARTED "
        "REASON_AGENT_UNKNOWN REASON_TASK_KILLED_DURING_LAUNCH REASON_TASK_CHECK_STATUS_UPDATED "
        "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED REASON_TASK_GROUP_INVALID "
        "REASON_TASK_GROUP_UNAUTHORIZED REASON_TASK_INVALID REASON_TASK_UNAUTHORIZED "
        "REASON_TASK_UNKNOWN"
    ),
    "TaskStatus.Source": "SOURCE_MASTER SOURCE_AGENT SOURCE_EXECUTOR",
    "Value.Type": "SCALAR RANGES SET TEXT",
    "Volume.Mode": "RW RO",
    "Volume.Source.CSIVolume.VolumeCapability.AccessMode.Mode": (
        "UNKNOWN SINGLE_NODE_WRITER SINGLE_NODE_READER_ONLY MULTI_NODE_READER_ONLY "
        "MULTI_NODE_SINGLE_WRITER MULTI_NODE_MULTI_WRITER"
    ),
    "Volume.Source.SandboxPath.Type": "UNKNOWN SELF PARENT",
    "Volume.Source.Type": "UNKNOWN DOCKER_VOLUME HOST_PATH SANDBOX_PATH SECRET CSI_VOLUME",
    "executor.Call.Type": "UNKNOWN SUBSCRIBE UPDATE MESSAGE HEARTBEAT",
    "executor.Event.Type": (
        "UNKNOWN SUBSCRIBED LAUNCH LAUNCH_GROUP KILL ACKNOWLEDGED MESSAGE ERROR SHUTDOWN HEARTBEAT"
    ),
    "scheduler.AttributeConstraint.Selector.PseudoattributeType": "UNKNOWN HOSTNAME REGION ZONE",
    "scheduler.Call.Type": (
        "UNKNOWN SUBSCRIBE TEARDOWN ACCEPT DECLINE ACCEPT_INVERSE_OFFERS DECLINE_INVERSE_OFFERS "
        "REVIVE KILL SHUTDOWN ACKNOWLEDGE ACKNOWLEDGE_OPERATION_STATUS RECONCILE "
        "RECONCILE_OPERATIONS MESSAGE REQUEST SUPPRESS UPDATE_FRAMEWORK"
    ),
    "scheduler.Event.Type": (
        "UNKNOWN SUBSCRIBED OFFERS INVERSE_OFFERS RESCIND RESCIND_INVERSE_OFFER UPDATE "
        "UPDATE_OPERATION_STATUS MESSAGE FAILURE ERROR HEARTBEAT"
    ),
}
