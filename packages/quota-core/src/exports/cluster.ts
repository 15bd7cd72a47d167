/**
 * `quota-core/cluster`: a quota engine replicated through NATS JetStream (docs/cluster.md). The
 * NATS client packages are optional peer dependencies: `npm install @nats-io/transport-node
 * @nats-io/jetstream @nats-io/kv @nats-io/obj`; without them `QuotaCluster.open` throws
 * `MissingPeerError` naming them.
 */
export {
  clusterAssetNames,
  DEFAULT_CLUSTER_OPTIONS,
  QuotaCluster,
  type QuotaClusterOptions,
  type QuotaClusterStatus,
} from '../cluster/cluster.js';
export {
  type ClusterEvent,
  ClusterInvariantError,
  ClusterNodeFailedError,
  type ClusterNodeStatus,
  ClusterUnavailableError,
  type NodeRole,
} from '../runtime/cluster-node.js';
export type { NodeStatus } from '../runtime/cluster-store.js';
export { LogConfigError } from '../runtime/jetstream-log.js';
export { MissingPeerError, NATS_PEER_PACKAGES } from '../runtime/nats-peer.js';
