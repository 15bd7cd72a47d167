/**
 * `allocdb-core/cluster`: the allocator replicated through NATS JetStream (docs/cluster.md). The
 * NATS client packages are optional peer dependencies: `npm install @nats-io/transport-node
 * @nats-io/jetstream @nats-io/kv @nats-io/obj`; without them `AllocDbCluster.open` throws
 * `MissingPeerError` naming them.
 */
export { AllocDbCluster, type AllocDbClusterOptions } from '../cluster/cluster.js';
export {
  ClusterOptionError,
  type ClusterSettings,
  type ClusterStatusWithNodes,
  clusterAssetNames,
  DEFAULT_CLUSTER_SETTINGS,
} from '../runtime/cluster-frontend.js';
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
