"""Google Cloud never deletes a KMS key ring: destroy only drops it from state. A ring with a
fixed name (``zp-<stack>-gke-keys``) still exists when the stack is deployed again after a
destroy, so the second deployment failed creating it (409 already exists). Pulumi's auto-name
gives each deployment a ring of its own."""

from tests.recipes.test_gcp_k8s import record


def test_the_secrets_key_ring_is_auto_named_so_a_redeploy_after_destroy_does_not_collide():
    prod = record(env="prod", extra_labels={"deployer_cidr": "198.51.100.7/32"})
    ring = prod.one("gcp:kms/keyRing:KeyRing")
    assert "name" not in ring.inputs, f"a fixed key ring name outlives destroy: {ring.inputs.get('name')}"
    assert ring.inputs["location"] == "us-central1"
    # the key inside it keeps its fixed name: unique within its (new) ring
    assert prod.one("gcp:kms/cryptoKey:CryptoKey").inputs["name"] == "kubernetes-secrets"
