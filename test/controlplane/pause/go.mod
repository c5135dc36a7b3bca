// Tools module: the pause process of the e2e node's pod sandboxes (see docs/testing.md). No registry
// is reachable for registry.k8s.io/pause, so the node's pause image is this binary alone.
module placement-quota-webhook/test/controlplane/pause

go 1.24.0
