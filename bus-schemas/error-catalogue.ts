/**
 * The error-code catalogue: what every stable `HOLON_E_*` code means, what an
 * operator (or a client author) does about it, and which program or layer
 * raises it. The one source of truth for docs/errors.md, which
 * `npm run errors` (tools/export-errors.ts) renders from this table.
 * test/arch/error-codes.test.ts fails when a code appears in product code
 * without an entry here, when an entry's code is no longer raised anywhere,
 * or when docs/errors.md drifts from this table.
 *
 * Pure data: no imports. Entries are grouped by where they are raised; the
 * rendered page sorts them by code.
 */

export interface ErrorCatalogueEntry {
  /** The stable code, `HOLON_E_[A-Z0-9_]+`. */
  readonly code: string;
  /** One sentence: what went wrong. */
  readonly meaning: string;
  /** What an operator (or a client author) does about it. */
  readonly operatorAction: string;
  /** Which program or layer raises it. */
  readonly raisedBy: string;
}

const ENTRIES: ErrorCatalogueEntry[] = [
  // --- the protocol core (bus-schemas), raised wherever it is used ---------------------------------
  {
    code: 'HOLON_E_MALFORMED',
    meaning:
      'A message, file or config value does not match its strict schema: an unknown or missing field, a wrong type, an out-of-range number, an oversize string or array, a duplicate key, a lone surrogate or invalid UTF-8; `path` names the JSON path and `reason` what was expected.',
    operatorAction:
      'Fix the sender or the file at the named path; when a peer sent it, the two sides probably run different releases, so upgrade the older one (V1 objects are frozen, so a correct V1 sender never gets this).',
    raisedBy: 'any program decoding a wire object or a JSON file (bus-schemas strict decoding)',
  },
  {
    code: 'HOLON_E_OVERSIZE',
    meaning: "Input is larger than the byte limit of the object it should be (64 KiB unless the object sets its own `maxBytes`) and was refused before parsing.",
    operatorAction: 'Send less (fewer labels, a shorter argv, a smaller manifest); the limits are fixed per wire object, not configurable.',
    raisedBy: 'any program decoding a wire object (bus-schemas strict decoding)',
  },
  {
    code: 'HOLON_E_BAD_SEAL',
    meaning: 'A seal did not verify: it is by another key than the expected one, under another domain tag, over altered bytes, or its bytes are malformed.',
    operatorAction:
      'Check that the sender signs with the key the receiver expects (the principal key of `holonctl init`, the cell key named by `cell-certificate.json`, the machine key); a seal over altered bytes means tampering or corruption, so keep the message and investigate.',
    raisedBy: 'any program verifying a sealed object: cell, agent, holonctl (bus-schemas seals)',
  },
  {
    code: 'HOLON_E_KEY',
    meaning: 'An Ed25519 seed or public key is not 32 bytes long.',
    operatorAction:
      'The key file or id that held it is damaged or of another kind: restore it from a backup, or move it away and create the key again; callers usually report it inside HOLON_E_AGENT_KEY_FILE, HOLON_E_PRINCIPAL_DIR or HOLON_E_INIT_CONFLICT.',
    raisedBy: 'any program loading a key (bus-schemas keys)',
  },
  {
    code: 'HOLON_E_BAD_SUBJECT',
    meaning:
      'A NATS subject or subject token is not what it must be: an id that is not a valid bech32m id of the required kind, a token outside `[a-z][a-z0-9_-]{0,31}`, or a subject with the wrong shape or number of tokens.',
    operatorAction:
      'Check the id you passed (e.g. a `holon1…` where a `hkey1…` is needed); when the subject came from a peer it was refused so that it cannot widen a permission, so treat the sender as suspect.',
    raisedBy: 'any program building or parsing a subject (bus-schemas subjects)',
  },
  {
    code: 'HOLON_E_STREAM_DEFINITION',
    meaning: 'A JetStream stream or KV definition was built with invalid options: replicas other than 1, 3 or 5, a bad KV bucket name, or a KV history outside 1..64.',
    operatorAction: 'The daemons build their definitions with the defaults, so this points to a code change that broke a definition: report it.',
    raisedBy: 'holon-orchestrator and holonctl up when declaring streams (bus-schemas streams)',
  },
  {
    code: 'HOLON_E_ADMISSION',
    meaning:
      'A bootstrap admission proof (hashcash or Wesolowski VDF) is invalid: another kind than required, a stale epoch, less work than required, a bad counter or VDF element, or no proof found at the asked difficulty.',
    operatorAction:
      'The cell reports it to the agent as HOLON_E_BOOT_ADMISSION together with what to solve, and the agent solves again; if it persists, check the clock of the agent host (the epoch of a proof is derived from it).',
    raisedBy: 'agent (solving) and cell (checking a hello), in bus-schemas admission',
  },

  // --- Merkle proofs (bus-schemas/merkle; library for witness receipts) ------------------------------
  {
    code: 'HOLON_E_MERKLE_PROOF',
    meaning:
      'An inclusion, consistency or multi-proof did not verify, or its inputs were malformed (wrong hash length, an index not below the tree size, too few or too many hashes, a root mismatch).',
    operatorAction:
      'Do not act on the proof (e.g. do not destroy anything on a teardown receipt that fails): fetch it again, and if it still fails the witness log disagrees with your leaves, so keep both as evidence.',
    raisedBy: 'bus-schemas Merkle verifiers (receipt multiproofs; not yet called by a daemon)',
  },
  {
    code: 'HOLON_E_MERKLE_REQUEST',
    meaning: 'A Merkle log was asked for something it cannot answer: a size beyond its leaves, an index not below the size, indices out of order, or a leaf hash of the wrong length.',
    operatorAction: 'Fix the caller: ask at or below the log size, with ascending indices; the log itself is fine.',
    raisedBy: 'bus-schemas Merkle log (library)',
  },
  {
    code: 'HOLON_E_MERKLE_STORE',
    meaning: 'A Merkle hash store does not hold a whole tree: a torn append, a hash that is not 32 bytes, or a missing position.',
    operatorAction: 'The store was damaged (e.g. by a crash mid-append); rebuild it from the leaves it was made from.',
    raisedBy: 'bus-schemas Merkle log (library)',
  },

  // --- TPM verification (bus-schemas/tpm) ----------------------------------------------------------
  {
    code: 'HOLON_E_TPM_MALFORMED',
    meaning: 'Bytes are not the TPM 2.0 structure they claim to be (TPM2B_PUBLIC, TPMS_ATTEST, TPMT_SIGNATURE, an EK certificate): bad sizes, trailing bytes, a wrong magic or attest type.',
    operatorAction:
      'At the cell it surfaces as HOLON_E_BOOT_QUOTE or HOLON_E_BOOT_MISMATCH; on the agent host check tpm2-tools and the TPM (a truncated or forged structure from a genuine TPM does not happen).',
    raisedBy: 'cell (bootstrap), the TPM adapter reading tpm2-tools output, holonctl up reading the EK (bus-schemas TPM parsers)',
  },
  {
    code: 'HOLON_E_TPM_BAD_SIGNATURE',
    meaning: "The quote's signature does not verify with the AK public key of the hello, or its scheme or hash differ from the AK's.",
    operatorAction: 'Surfaces as HOLON_E_BOOT_QUOTE; a genuine TPM does not produce this, so suspect a forged quote or an AK replaced behind the agent, and do not approve the machine.',
    raisedBy: 'cell (bootstrap quote verification)',
  },
  {
    code: 'HOLON_E_TPM_PCR_MISMATCH',
    meaning: "The PCR values sent with the quote do not hash to the quote's signed pcrDigest.",
    operatorAction: 'Surfaces as HOLON_E_BOOT_PCR_POLICY; the values were altered after quoting (by the agent or in transit), so inspect the agent host.',
    raisedBy: 'cell (bootstrap quote verification)',
  },
  {
    code: 'HOLON_E_TPM_PCR_SELECTION',
    meaning: 'The quoted PCR selection is not exactly the one asked for: another bank, other indices, or more than one bank.',
    operatorAction: "Surfaces as HOLON_E_BOOT_PCR_SELECTION; activate the asked bank on the TPM (`tpm2_getcap pcrs`) or change the orchestrator's `pcr_selection` to a bank the fleet's TPMs have.",
    raisedBy: 'cell (bootstrap quote verification)',
  },
  {
    code: 'HOLON_E_TPM_PCR_POLICY',
    meaning: 'The PCR values are authentic but differ from the golden values the policy allows for the machine class.',
    operatorAction:
      "Surfaces as HOLON_E_BOOT_PCR_POLICY; if the host's firmware or boot chain changed legitimately, add its values to the class in the policy's `pcr_golden`, otherwise the host booted something unexpected and must not be approved.",
    raisedBy: 'cell (bootstrap attestation and approval)',
  },
  {
    code: 'HOLON_E_TPM_NONCE',
    meaning: "The quote's extraData is not the qualifying data bound to this challenge (cell nonce, machine key and the wrapped secret).",
    operatorAction: 'Surfaces as HOLON_E_BOOT_ACTIVATION; the quote belongs to another bootstrap or the credential was not activated by this TPM; let the agent say hello again and suspect the host if it repeats.',
    raisedBy: 'cell (bootstrap quote verification)',
  },
  {
    code: 'HOLON_E_TPM_AK_ATTRIBUTES',
    meaning: 'The attestation key is not a restricted, fixedTPM, fixedParent, sensitiveDataOrigin signing key with an accepted scheme (ECDSA, RSASSA or RSAPSS; no SHA-1; RSA of at least 2048 bits; a known curve).',
    operatorAction: "Surfaces as HOLON_E_BOOT_AK_ATTRIBUTES; let the agent's TPM attestor create the AK (remove its `tpm/` state directory and restart the agent); AKs made by other tooling are not accepted.",
    raisedBy: 'cell (bootstrap hello)',
  },
  {
    code: 'HOLON_E_TPM_AK_BINDING',
    meaning: "The quote's qualified signer is not this AK under this EK's endorsement hierarchy.",
    operatorAction: 'Surfaces as HOLON_E_BOOT_MISMATCH; the EK and the AK of the hello come from different TPMs, so treat the host as suspect.',
    raisedBy: 'cell (bootstrap quote verification)',
  },
  {
    code: 'HOLON_E_TPM_EK_UNTRUSTED',
    meaning: 'The EK certificate does not chain to a configured EK CA (issuer, signature, validity, CA flags), or the EK hash is not allow-listed.',
    operatorAction:
      "Reported inside HOLON_E_BOOT_EK_UNTRUSTED; add the TPM vendor's CA to the orchestrator's `ek_trust_anchors` / `ek_intermediates`, or pre-approve the EK hash in the policy's `preapproved_eks`.",
    raisedBy: 'cell (bootstrap hello)',
  },
  {
    code: 'HOLON_E_TPM_EK_MISMATCH',
    meaning: 'The EK certificate certifies another public key than the EK the machine presented.',
    operatorAction: "Reported inside HOLON_E_BOOT_EK_UNTRUSTED; the certificate does not belong to this TPM's EK (copied or swapped), so do not trust the host until that is explained.",
    raisedBy: 'cell (bootstrap hello)',
  },
  {
    code: 'HOLON_E_TPM_CLOCK',
    meaning: "The TPM's clock, reset count or restart count went backwards compared with the last quote accepted from this AK.",
    operatorAction:
      'Surfaces as HOLON_E_BOOT_QUOTE; an old quote was replayed or the TPM state was rolled back (e.g. a restored swtpm state); if the TPM was legitimately cleared, let the agent create a new AK, which starts a new history.',
    raisedBy: 'cell (bootstrap quote verification)',
  },
  {
    code: 'HOLON_E_TPM_ACTIVATION',
    meaning: 'The secret returned by TPM2_ActivateCredential is not the secret the cell wrapped to the EK.',
    operatorAction: 'The AK and the EK are not in the same TPM, or the credential blob was altered; let the agent bootstrap again and suspect the host if it repeats.',
    raisedBy: 'bus-schemas TPM verification (verifyActivatedSecret; not yet called by a daemon)',
  },
  {
    code: 'HOLON_E_TPM_UNSUPPORTED',
    meaning: 'A well-formed TPM structure uses an algorithm Holonet does not verify: an EK that is not a restricted AES-CFB decryption key, an unknown curve, or an unsupported PCR bank or scheme.',
    operatorAction: 'Use a TPM profile with RSA-2048+ or NIST P-256/P-384 keys and a SHA-256 (or stronger) PCR bank; the refusal names the field.',
    raisedBy: 'cell (bootstrap hello, challenge and quote), bus-schemas TPM verification',
  },

  // --- bootstrap (bus-schemas/bootstrap: both halves) -----------------------------------------------
  {
    code: 'HOLON_E_BOOT_UNTRUSTED_CELL',
    meaning: "The cell's certificate is not signed by a pinned principal root, its seal does not verify, it is not valid now, or it does not allow the cell to enroll HOSTs.",
    operatorAction:
      "Check that the agent's `principal_root` is the `hkey1…` of the principal that certified this cell, that the cell certificate has not expired, and that the agent's `nats.servers` reach the right cell; the agent sends nothing more and exits 2.",
    raisedBy: 'agent (bootstrap client; recorded as REFUSED by: agent)',
  },
  {
    code: 'HOLON_E_BOOT_BAD_CHALLENGE',
    meaning: "The cell's challenge is not sealed by the certified cell key, names another machine, does not cover the agent's nonce, has expired, or does not challenge the TPM the agent offered.",
    operatorAction:
      'An expired challenge means a slow round trip: restart the agent; anything else means something other than the certified cell answered the hello, so check who may publish into the bootstrap inboxes.',
    raisedBy: 'agent (bootstrap client; recorded as REFUSED by: agent)',
  },
  {
    code: 'HOLON_E_BOOT_BAD_SEAL',
    meaning: 'A hello or an attestation is not sealed by the machine key it names.',
    operatorAction: "The agent's message and its machine key disagree (a modified or broken agent); check the agent's release and its `machine.key`; such hellos are not written to the ledger.",
    raisedBy: 'cell (bootstrap)',
  },
  {
    code: 'HOLON_E_BOOT_CLOCK_SKEW',
    meaning: "The hello's `sent_at` is further from the cell's clock than `max_clock_skew_ms`.",
    operatorAction: 'Synchronise the clocks of the agent host and the orchestrator host (NTP, chrony); the agent says hello again.',
    raisedBy: 'cell (bootstrap hello)',
  },
  {
    code: 'HOLON_E_BOOT_ADMISSION',
    meaning:
      "The hello's admission proof is not what the cell asks for now (kind, epoch, difficulty or VDF iterations), or the cell asks for more work than the agent's `admission_max_difficulty` / `admission_max_vdf_iterations` allow.",
    operatorAction:
      "Normally nothing: the refusal's `admission_required` tells the agent what to solve and it retries; if the agent records it and exits 2, raise its cap only if the cell really is under a hello flood, or lower `admission_max_difficulty` in the cell policy.",
    raisedBy: 'cell (bootstrap hello); agent (its admission cap)',
  },
  {
    code: 'HOLON_E_BOOT_TPM_REQUIRED',
    meaning: "The cell's policy requires a TPM 2.0 (`tpm: required`) and the hello offered none.",
    operatorAction: "Give the host a working TPM and set the agent's `tpm.mode` to `auto` or `required`, or (development only) allow software-only machines with `tpm: optional` in the policy.",
    raisedBy: 'cell (bootstrap hello)',
  },
  {
    code: 'HOLON_E_BOOT_NONCE_STALE',
    meaning: 'The attestation arrived after the challenge expired (`challenge_ttl_ms`, by default the policy nonce lifetime).',
    operatorAction: 'The agent was too slow between hello and attest (slow TPM, suspended host); restart it for a new hello, and raise `challenge_ttl_ms` if the TPM is always this slow.',
    raisedBy: 'cell (bootstrap attest)',
  },
  {
    code: 'HOLON_E_BOOT_NONCE_REPLAY',
    meaning: 'The attestation does not answer the open challenge for this machine: its nonces or machine id differ, or no challenge is open (already answered, expired or never issued).',
    operatorAction: 'After a cell restart or a duplicate send, restart the agent for a new hello; repeated attestations from elsewhere are replay attempts.',
    raisedBy: 'cell (bootstrap attest)',
  },
  {
    code: 'HOLON_E_BOOT_QUOTE_REPLAY',
    meaning: 'This exact TPM quote was already presented in an earlier bootstrap.',
    operatorAction: 'A genuine agent quotes afresh for every challenge, so this is a replay: find who sent it; the real agent recovers with a new hello.',
    raisedBy: 'cell (bootstrap attest)',
  },
  {
    code: 'HOLON_E_BOOT_EK_UNTRUSTED',
    meaning: "The machine's EK is neither certified by a trusted EK CA (with a certificate for exactly this EK) nor pre-approved; the message lists why each way failed.",
    operatorAction:
      "Add the TPM manufacturer's root and intermediate certificates to the orchestrator's `ek_trust_anchors` / `ek_intermediates`, or put the EK hash in the policy's `preapproved_eks`.",
    raisedBy: 'cell (bootstrap hello)',
  },
  {
    code: 'HOLON_E_BOOT_AK_ATTRIBUTES',
    meaning: 'The AK in the hello is not a restricted signing key bound to the TPM (fixedTPM, fixedParent, sensitiveDataOrigin) with an accepted scheme.',
    operatorAction: "Remove the `tpm/` directory in the agent's data_dir so its attestor creates a compliant AK, then restart the agent.",
    raisedBy: 'cell (bootstrap hello)',
  },
  {
    code: 'HOLON_E_BOOT_ACTIVATION',
    meaning: 'The quote is not bound to this challenge: its qualifying data lacks the secret the cell wrapped to the EK (wrong activation secret, or a quote from another bootstrap).',
    operatorAction: 'The TPM that answered is not the one whose EK was in the hello, or the quote comes from another session; restart the agent, and suspect the host if it repeats.',
    raisedBy: 'cell (bootstrap attest)',
  },
  {
    code: 'HOLON_E_BOOT_PCR_POLICY',
    meaning: "The quoted PCR values do not match the golden values of the machine's class (checked at attest time, or at approval time for `holonctl approve --class`), or do not hash to the quote's digest.",
    operatorAction:
      "If the host's boot chain changed legitimately, add its values to the class in the policy's `pcr_golden` (or approve under the right class); otherwise do not enroll it.",
    raisedBy: 'cell (bootstrap attest and approval)',
  },
  {
    code: 'HOLON_E_BOOT_PCR_SELECTION',
    meaning: 'The quote covers another PCR bank or other indices than the challenge asked for.',
    operatorAction: "Activate the asked bank on the host's TPM, or set the orchestrator's `pcr_selection` to a bank the fleet's TPMs provide.",
    raisedBy: 'cell (bootstrap attest)',
  },
  {
    code: 'HOLON_E_BOOT_QUOTE',
    meaning:
      'The challenge asked for a TPM quote and none came, or the quote failed verification another way (bad signature, malformed or unsupported structure, TPM clock went backwards); the message carries the failed TPM check (`tpm: <field>: <detail>`).',
    operatorAction: "Check the agent host's TPM and tpm2-tools (the agent log shows the quote step); a bad signature or a clock going back on real hardware points to a forged or replayed quote.",
    raisedBy: 'cell (bootstrap attest)',
  },
  {
    code: 'HOLON_E_BOOT_JURISDICTION',
    meaning: "The machine's jurisdiction attestation is by a provider not in `trusted_providers`, its seal does not verify, it is not valid now, or it names a deny-listed jurisdiction.",
    operatorAction:
      "Add the provider's key to the orchestrator's `trusted_providers` or have the provider renew its attestation; a jurisdiction in the policy's `denied_jurisdictions` cannot join this cell.",
    raisedBy: 'cell (bootstrap attest)',
  },
  {
    code: 'HOLON_E_BOOT_NOT_APPROVED',
    meaning: 'The machine attested but no principal approval or policy pre-approval is on record, so it gets no credentials yet (recorded once; the state stays ATTESTED).',
    operatorAction: 'Approve it with `holonctl approve <hkey1…>` (with `--class C` when the policy defines golden PCR classes), or pre-approve its EK in the policy; the agent keeps polling until then.',
    raisedBy: 'cell (bootstrap status)',
  },
  {
    code: 'HOLON_E_BOOT_MISMATCH',
    meaning:
      'What the machine presents disagrees with itself or with its record: an enrolled machine came back with another EK, its TPM public areas are unreadable, the quote is by another AK than the hello named or not bound to its EK, or a quote came with a software-only hello.',
    operatorAction:
      "A machine key reappearing with another TPM is refused on purpose: if the TPM really was replaced, move `machine.key` and `state.json` out of the agent's data_dir so it comes back as a new machine, and approve that; otherwise treat the host as compromised.",
    raisedBy: 'cell (bootstrap hello and attest)',
  },

  // --- the cell's principal and status requests (orchestrator/cell-request-error.ts) ---------------
  {
    code: 'HOLON_E_NOT_PRINCIPAL',
    meaning: 'A principal request (approve, list machines) is sealed by another key than the principal this cell answers to.',
    operatorAction: 'Run holonctl with the `--dir` of the `holonctl init` that certified this cell (its `keys/principal.key`).',
    raisedBy: 'cell (principal requests)',
  },
  {
    code: 'HOLON_E_WRONG_CELL',
    meaning: 'A principal request is addressed to another cell id than the cell that received it.',
    operatorAction: 'Use the `--dir` whose `cell-certificate.json` names this cell, or point `--server` at the cell you meant.',
    raisedBy: 'cell (principal requests)',
  },
  {
    code: 'HOLON_E_REQUEST_STALE',
    meaning: "A principal request or a bootstrap status request carries a time further from the cell's clock than `max_clock_skew_ms`.",
    operatorAction: 'Synchronise the clocks of the requesting host and the orchestrator host (NTP), then retry.',
    raisedBy: 'cell (principal and status requests)',
  },
  {
    code: 'HOLON_E_APPROVAL_EXPIRED',
    meaning: "The machine approval's `expires_at` has passed.",
    operatorAction: 'Issue a new approval with `holonctl approve` (`--valid-for <hours>` for a longer window).',
    raisedBy: 'cell (approve)',
  },
  {
    code: 'HOLON_E_APPROVAL_NONCE_USED',
    meaning: "The approval's nonce was already used; approvals are single-use.",
    operatorAction: 'Run `holonctl approve` again for a fresh approval instead of re-sending an old one.',
    raisedBy: 'cell (approve)',
  },
  {
    code: 'HOLON_E_APPROVAL_CLASS',
    meaning: 'The approval names a machine class (`--class`) for which the policy has no golden PCR values.',
    operatorAction: "Use a class listed in the policy's `pcr_golden`, or approve without `--class`.",
    raisedBy: 'cell (approve)',
  },
  {
    code: 'HOLON_E_MACHINE_UNKNOWN',
    meaning: 'A bootstrap status request is about a machine this cell has no record of (it never said hello to this cell).',
    operatorAction: "Restart the agent (a REFUSED agent starts with a new hello); if it keeps happening, check that the agent's `nats.servers` reach the cell that knows it.",
    raisedBy: 'cell (bootstrap status)',
  },

  // --- holon-orchestrator itself ---------------------------------------------------------------------
  {
    code: 'HOLON_E_CONFIG',
    meaning:
      "holon-orchestrator's config file, or a file it names (cell key, cell certificate, policy, EK CAs, account seeds), is missing, unreadable or invalid, or does not fit the rest (e.g. a cell certificate not signed by the pinned principal).",
    operatorAction: 'Fix the file and JSON path the message names; `holon-orchestrator --config F --check-config` validates without starting (exit 78 on error).',
    raisedBy: 'cell (holon-orchestrator start-up)',
  },
  {
    code: 'HOLON_E_ENROLLMENT',
    meaning: "The cell cannot issue a machine's HOST certificate because its own cell certificate has expired.",
    operatorAction: "Give the cell a new certificate from the principal (replace the file named by `cell_certificate`) and restart holon-orchestrator.",
    raisedBy: 'cell (enrollment)',
  },
  {
    code: 'HOLON_E_REGISTRY_TRANSITION',
    meaning: "A machine event is not allowed in the machine's current state (e.g. a second MACHINE_ENROLLED): a bug, or a ledger entry that this cell's state machine did not write.",
    operatorAction: 'Report it with the machine id, state and event from the message, and check the machine chain with `holonctl audit`.',
    raisedBy: 'cell (machine registry, live and during a rebuild)',
  },
  {
    code: 'HOLON_E_METERING',
    meaning: 'A metering batch was refused by the cell: not on the subject of the machine that sealed it, or from a machine this cell has not enrolled. Its samples do not count; the next batch of an enrolled machine carries the same totals.',
    operatorAction: "Check that the agent is enrolled in this cell (`holonctl machines`) and publishes with its own credentials; the cell's log names the subject and machine.",
    raisedBy: 'cell (metering)',
  },
  {
    code: 'HOLON_E_PROVISION_EVENT',
    meaning: "A provisioning ledger event does not fit the provisioning's state (e.g. HOLON_PROVISIONED for one that is not PLACED, or an event for a request never authorized): a bug, or a ledger this cell did not write.",
    operatorAction: "Report it with the request digest from the message, and check the requester's and the holon's chains with `holonctl audit`.",
    raisedBy: 'cell (provisioning lifecycle, live and during a rebuild)',
  },
  {
    code: 'HOLON_E_REBUILD',
    meaning: 'Rebuilding the machines projection from the ledger stopped at an entry sealed by this cell that cannot be applied (bad seal, unparsable body, wrong owner, disallowed transition).',
    operatorAction: 'The projection was not rebuilt: run `holonctl audit --full` to find the broken entry at the named stream sequence, and keep the old database until it is explained.',
    raisedBy: 'cell (holon-orchestrator start-up, `--rebuild`)',
  },
  {
    code: 'HOLON_E_SQLITE',
    meaning: 'holon-orchestrator cannot open one of its SQLite projections (orchestrator.db or provisions.db).',
    operatorAction: "Check the path, ownership and free space of the orchestrator's data_dir; a missing orchestrator.db is rebuilt from the ledger at start (or with `--rebuild`).",
    raisedBy: 'cell (SQLite adapter)',
  },
  {
    code: 'HOLON_E_INTERNAL',
    meaning: 'A responder failed with an unexpected error that is not a typed refusal, so the requester gets only this code (also recorded on a JOB_FAILED ledger entry when a job failed that way).',
    operatorAction: "Look in the responder's log (orchestrator or agent) at the time of the refusal: the details are there, never on the wire; it is a bug to report.",
    raisedBy: 'any responder: cell, agent (bus-schemas refusals)',
  },

  // --- provisioning, teardown and jobs at the cell (orchestrator/provisioning) ----------------------
  {
    code: 'HOLON_E_REQUEST_EXPIRED',
    meaning:
      "A provisioning, teardown or job request has passed its `expires_at`, is dated too far in the future or past for the cell's clock, or the requesting holon's own certificate has expired.",
    operatorAction: "Send a fresh request; if it fails at once, fix the requesting host's clock; a requester with an expired certificate must itself be provisioned again.",
    raisedBy: 'cell (provisioning)',
  },
  {
    code: 'HOLON_E_REPLAY',
    meaning: "The request's `request_nonce` was already used by the same requester for a request with a different body.",
    operatorAction: 'Use a new nonce for every new request; re-sending the identical request is fine (it returns the existing status), changing it under an old nonce is not.',
    raisedBy: 'cell (provisioning)',
  },
  {
    code: 'HOLON_E_ROLE_NOT_ALLOWED',
    meaning: "The requested role is not a unit role, or the cell certificate's `allowed_roles` do not include it.",
    operatorAction: "Pick a role from the cell certificate's `allowed_roles`, or have the principal certify the cell for that role.",
    raisedBy: 'cell (provisioning)',
  },
  {
    code: 'HOLON_E_BUDGET_EXCEEDED',
    meaning:
      "The request asks for more than the requester has: more children than its `max_children`, a budget quantity above its grant's cap or above what its active children leave, or a validity beyond the requester's own.",
    operatorAction: 'Ask for less (`path` names the quantity), tear down children you no longer need, or get a wider grant from the parent.',
    raisedBy: 'cell (provisioning authorization)',
  },
  {
    code: 'HOLON_E_NO_PLACEMENT',
    meaning: 'No enrolled machine can take the unit: none matches the os, arch, labels and tools asked for, none has an isolation adapter that hosts the role, or none has enough memory or unit slots left; the message says why each machine was skipped.',
    operatorAction: 'Relax the constraints, enroll a matching machine, tear down units, or raise `placement_overcommit` in the orchestrator config.',
    raisedBy: 'cell (provisioning placement)',
  },
  {
    code: 'HOLON_E_TENANT_BUSY',
    meaning: 'The tenant already has an active unit in this cell (tenant = unit = secret bucket), or the tenant name cannot name a unit (it must start with a letter and have at most 32 characters).',
    operatorAction: "Tear down the tenant's current unit first (`holonctl teardown`), or use a valid, different tenant name.",
    raisedBy: 'cell (provisioning)',
  },
  {
    code: 'HOLON_E_UNKNOWN_HOLON',
    meaning: 'The holon or provisioning named is not known to this cell, or the requester is neither the principal nor a holon of this cell.',
    operatorAction: 'Check the `holon1…` or `sha256:…` id (`holonctl holons --all`) and that you asked the cell that runs it.',
    raisedBy: 'cell (provisioning, status, teardown, jobs)',
  },
  {
    code: 'HOLON_E_NOT_READY',
    meaning: 'The holon is not RUNNING (yet, or any more), so it cannot be torn down or run a job now, or the orchestrator was set up without a job runner.',
    operatorAction: 'Wait until `holonctl show` reports it RUNNING, then retry.',
    raisedBy: 'cell (teardown, jobs)',
  },
  {
    code: 'HOLON_E_FORBIDDEN',
    meaning: 'The requester may not do this to that holon: it is neither the principal nor the holon\'s parent, it is not RUNNING itself, or it may not read that provisioning.',
    operatorAction: "Send the request as the principal (holonctl's `--dir`) or as the holon's parent.",
    raisedBy: 'cell (provisioning, status, teardown, jobs)',
  },
  {
    code: 'HOLON_E_UNIT_REPORT',
    meaning:
      "An agent's unit report does not match the provisioning it names: unknown request, another machine or unit name, another holon id than already issued, a provisioning not PLACED (or not being torn down), or a report on another machine's subject.",
    operatorAction: "A stale duplicate after a crash is harmless once the provisioning has moved on; a report for another machine's unit is suspicious, so inspect that agent.",
    raisedBy: 'cell (unit reports on `holon.<m>.unit`)',
  },
  {
    code: 'HOLON_E_HOLON_KEY_PROOF',
    meaning: "A PROVISIONED unit report's `holon_key_proof` does not prove that the reporter holds the key of the holon id it names for this request.",
    operatorAction: "The agent's unit key and its report disagree (a broken or tampered agent): check the agent's release and the unit's key files before provisioning there again.",
    raisedBy: 'cell (unit reports)',
  },
  {
    code: 'HOLON_E_HOLON_ID_TAKEN',
    meaning: "A unit report claims a holon id already issued to another provisioning; it is refused and recorded as SECURITY_HOLON_ID_CLAIM_REFUSED on the claiming machine's ledger chain.",
    operatorAction: "Treat the claiming machine as suspect: review its chain with `holonctl audit` and inspect the host.",
    raisedBy: 'cell (unit reports)',
  },
  {
    code: 'HOLON_E_QUOTA_EXCEEDED',
    meaning: "The requester already placed as many provisions as its grant's `rate_per_epoch` allows in the current one-hour epoch.",
    operatorAction: 'Wait for the next hour, or have the parent grant a higher `rate_per_epoch` (the count is kept in memory and restarts with the orchestrator).',
    raisedBy: 'cell (provisioning authorization)',
  },
  {
    code: 'HOLON_E_JOB',
    meaning: 'The agent refused a guarded job without naming a code; the cell records and returns this fallback code.',
    operatorAction: "Read the refusal's reason and the agent log on the machine that runs the unit.",
    raisedBy: 'cell (jobs)',
  },

  // --- capability lattice and delegation chains (bus-schemas/capability) ---------------------------
  {
    code: 'HOLON_E_CAP_AMPLIFICATION',
    meaning:
      "A requested capability manifest is not a strict narrowing of the requester's: a grant covers an action, resource, time window or cap that no parent grant covers; the refusal names the link, grant and field with the allowed and requested values.",
    operatorAction: 'Ask for no more than the parent grants (compare `allowed` with `requested` for the named field), or get a wider grant from further up.',
    raisedBy: 'cell (provisioning authorization; bus-schemas capability lattice)',
  },
  {
    code: 'HOLON_E_CAP_EXPIRED',
    meaning: "A delegation link, or the grant that would permit the action, is past its `not_after`.",
    operatorAction: 'Have the issuer delegate again with a new validity window.',
    raisedBy: 'cell (provisioning authorization; bus-schemas capability lattice)',
  },
  {
    code: 'HOLON_E_CAP_NOT_YET_VALID',
    meaning: "A delegation link or grant is not valid yet: its `not_before` is in the future, or a link was issued after the verifier's now.",
    operatorAction: 'Wait until the window opens, or fix the clock of the issuer or the verifier.',
    raisedBy: 'cell (provisioning authorization; bus-schemas capability lattice)',
  },
  {
    code: 'HOLON_E_CAP_BROKEN_CHAIN',
    meaning:
      'A delegation chain does not link up: empty or too long, a first link that is not a root, a root below the top, a parent digest or issuer that does not match the previous link, a link issued before its parent, or an issuer seal that does not verify.',
    operatorAction: 'Send the complete chain in order from the root, exactly as issued; a seal failure means a link was altered.',
    raisedBy: 'bus-schemas delegation-chain verification (not yet called by a daemon)',
  },
  {
    code: 'HOLON_E_CAP_DEPTH_EXHAUSTED',
    meaning: 'Every parent grant covering a requested grant has `max_depth` 0, so it cannot be delegated further.',
    operatorAction: 'Request the capability from a holder higher up the chain, or have it issued with a larger `max_depth`.',
    raisedBy: 'cell (provisioning authorization; bus-schemas capability lattice)',
  },
  {
    code: 'HOLON_E_CAP_REVOKED',
    meaning: 'A link of the delegation chain is in the revocation set.',
    operatorAction: 'Obtain a new delegation that does not pass through the revoked link.',
    raisedBy: 'bus-schemas delegation-chain verification (not yet called by a daemon)',
  },
  {
    code: 'HOLON_E_CAP_UNTRUSTED_ROOT',
    meaning: "The root link of a delegation chain is issued by a key that is not a trusted root.",
    operatorAction: "Re-issue the chain from a trusted root (the cell's principal key).",
    raisedBy: 'bus-schemas delegation-chain verification (not yet called by a daemon)',
  },
  {
    code: 'HOLON_E_CAP_DENIED',
    meaning: "No grant of the requester's manifest permits the action on the resource (e.g. `/provision/<ROLE>` on `holon.<id>.children`).",
    operatorAction: 'Get a manifest with a grant for that action and resource from the parent or the principal.',
    raisedBy: 'cell (provisioning authorization; bus-schemas capability lattice)',
  },

  // --- holon-agent ---------------------------------------------------------------------------------
  {
    code: 'HOLON_E_AGENT_CONFIG',
    meaning: "holon-agent's config file is missing, unreadable, not JSON, or violates the schema (the message names the file and the JSON path); the agent exits 78.",
    operatorAction: 'Fix the named key; `holon-agent --config F --check-config` validates without starting.',
    raisedBy: 'agent (start-up)',
  },
  {
    code: 'HOLON_E_AGENT_KEY_FILE',
    meaning: 'A key file of the agent (`machine.key`, `nats-user.nk`, `.creds`) is unusable: group or others can read it, it is not a holonet key or NATS seed, or its key_id does not match its seed; the agent exits 78.',
    operatorAction:
      'A key others could read may have leaked: remove it and let the agent create a new identity (a new machine to approve), and chmod 600 only if you are sure it did not leak; otherwise restore the file from a backup.',
    raisedBy: 'agent (start-up)',
  },
  {
    code: 'HOLON_E_AGENT_STATE',
    meaning: "The agent's `state.json` is unreadable, belongs to another machine key, or holds an event that does not fit its state.",
    operatorAction: 'If `machine.key` was replaced on purpose, move `state.json` away so the agent bootstraps afresh; otherwise keep a copy of the file and report it.',
    raisedBy: 'agent (bootstrap state)',
  },
  {
    code: 'HOLON_E_AGENT_BAD_REPLY',
    meaning:
      "A reply from the cell breaks the protocol: not JSON, not the expected object, not sealed by the certified cell key, a refusal that does not verify, a status for another machine or cell, or an enrollment (certificate, JWT) that does not check out; the agent exits 2.",
    operatorAction: 'Check that only the real cell answers on `api.bootstrap.*` and that agent and orchestrator run the same release.',
    raisedBy: 'agent (bootstrap client)',
  },
  {
    code: 'HOLON_E_AGENT_REFUSED',
    meaning: "The cell refused this machine with a sealed refusal; its own code (`cell_code`, e.g. HOLON_E_BOOT_…) says why; the agent exits 2.",
    operatorAction: "Look up `cell_code` (also in `state.json` and `holonctl machines`), fix that cause, then restart the agent: a REFUSED agent starts with a new hello.",
    raisedBy: 'agent (bootstrap client)',
  },
  {
    code: 'HOLON_E_AGENT_BUS',
    meaning: 'The agent could not reach the cell over NATS: cannot connect, no responders, a timeout, or a disconnect.',
    operatorAction: "Nothing at first: the agent retries with backoff and never dies of it; if it lasts, check `nats.servers`, the agent's credentials and that holon-orchestrator runs.",
    raisedBy: 'agent (NATS connector)',
  },
  {
    code: 'HOLON_E_AGENT_TPM',
    meaning: '`tpm.mode` is `required` but the TPM cannot be used: no attestor is configured, provisioning the EK/AK failed, or there is no TPM challenge to answer; the agent exits 2.',
    operatorAction: "Check `/dev/tpmrm0` (or `tpm.tcti`) and tpm2-tools on the host, or set `tpm.mode: auto` when the cell's policy allows software-only machines.",
    raisedBy: 'agent (TPM evidence)',
  },
  {
    code: 'HOLON_E_UNIT_COMMAND',
    meaning:
      "The agent refused or could not finish a cell command: a command or job for another machine or cell, a job whose reply would not go to the cell's inbox, a job for a unit not running here, a unit that belongs to another request, or a cell answer without its receipt.",
    operatorAction: 'Commands for another machine or cell are terminated, so check the cell setup if they persist; other failed commands are redelivered; the agent log names the unit and the request digest.',
    raisedBy: 'agent (unit manager)',
  },
  {
    code: 'HOLON_E_JOB_EXECUTABLE',
    meaning: "The agent cannot read the job's executable (argv[0]) inside the unit as the unit user, or it is larger than 64 MiB; nothing was run.",
    operatorAction: 'Make sure the path exists inside the unit, is readable by the unit user and is under 64 MiB.',
    raisedBy: 'agent (guarded jobs)',
  },
  {
    code: 'HOLON_E_JOB_HASH_MISMATCH',
    meaning: "The SHA-256 of the job's executable inside the unit is not the pinned `--sha256`; nothing was run.",
    operatorAction: 'Pin the hash of the exact file the unit holds (`sha256sum` inside the unit), or find out who changed the file.',
    raisedBy: 'agent (guarded jobs)',
  },

  // --- holonctl --------------------------------------------------------------------------------------
  {
    code: 'HOLON_E_UP',
    meaning:
      "`holonctl up` could not start or keep the local fleet: nats-server not found, a child (nats-server, orchestrator, agent) exited or timed out while starting, the agent's attestation was refused, the approval failed, or the data dir's policy is not sealed by its principal.",
    operatorAction: 'Read the log file the message names (under `.holonet/logs/`); install nats-server or set `NATS_SERVER_BIN`; for a refused attestation, look up the refusal code in the message.',
    raisedBy: 'holonctl (up)',
  },
  {
    code: 'HOLON_E_PRINCIPAL_DIR',
    meaning: 'The principal directory given with `--dir` (what `holonctl init --principal-dir` made, default `~/.config/holonet`; `holonctl up` keeps it in its data dir) has no usable `keys/principal.key`, or no `cell-certificate.json` signed by that principal; or `holonctl init --principal-dir` names a directory inside the data dir.',
    operatorAction: 'Point `--dir` at the principal directory `holonctl init` made, or run `holonctl init` for it; keep the principal directory outside the orchestrator\'s data dir.',
    raisedBy: 'holonctl (machines, approve, holons, job, up)',
  },
  {
    code: 'HOLON_E_INIT_EXISTS',
    meaning: '`holonctl init` found the data directory already complete and changed nothing (it never replaces a key).',
    operatorAction: 'Nothing, if it is the directory you want; use another `--dir` for a new principal and cell.',
    raisedBy: 'holonctl (init)',
  },
  {
    code: 'HOLON_E_INIT_CONFLICT',
    meaning:
      'A file already in the data directory does not fit the keys beside it (a certificate or policy signed by another principal, creds of other nkeys, an invalid key file, or a file that appeared during init); nothing was changed.',
    operatorAction: 'Move the named file away or fix it, then run `holonctl init` again to complete the directory.',
    raisedBy: 'holonctl (init)',
  },

  // --- the bus adapter (adapters/nats) ---------------------------------------------------------------
  {
    code: 'HOLON_E_BUS_CONNECT',
    meaning: 'The NATS adapter could not connect or authenticate to the servers, or JetStream is not available on the connection.',
    operatorAction: 'Check the server URL, that nats-server runs with JetStream enabled, and the credentials file; the message names the server.',
    raisedBy: 'bus adapter (holon-orchestrator, holonctl)',
  },
  {
    code: 'HOLON_E_BUS_CONFIG',
    meaning:
      'The NATS adapter got a bad option: an unreadable creds or nkey file, more than one of credsFile/nkeySeedFile/jwt, no or a bad server URL (only nats:// and tls://, no credentials in the URL), JetStream used on a connection opened without it, or a bad ledger replay start.',
    operatorAction: "Fix the option the message names (in the daemon's config, or holonctl's `--server` / `--creds`).",
    raisedBy: 'bus adapter (holon-orchestrator, holonctl)',
  },
  {
    code: 'HOLON_E_BUS_STREAM_CONFLICT',
    meaning: "An existing JetStream stream cannot be reconciled with Holonet's definition: a field fixed at creation (storage, retention) differs, deny_delete or deny_purge would have to be switched off, or the stream is sealed.",
    operatorAction: 'Inspect the stream (`nats stream info <name>`) and migrate it by hand; Holonet never weakens LEDGER, and LEDGER must not be deleted without a copy of its evidence.',
    raisedBy: 'bus adapter (stream declaration at orchestrator start and holonctl up)',
  },
  {
    code: 'HOLON_E_BUS_REQUEST',
    meaning: 'A JetStream or request/reply call failed: a timeout, no responders, or a JetStream API error (stream info, create or update, publish, consumer create, message get).',
    operatorAction: 'Check that the responder runs (holon-orchestrator for `api.*`) and that the credentials allow the subject (docs/security.md), then retry.',
    raisedBy: 'bus adapter (holon-orchestrator, holonctl)',
  },
  {
    code: 'HOLON_E_BUS_BAD_REPLY',
    meaning: 'A reply arrived that is neither the expected sealed object nor a valid refusal of this request (unparsable, a bad seal, a refusal for another request).',
    operatorAction: 'Something other than the expected service answered, or the two sides run different releases: check who subscribes to the service subject.',
    raisedBy: 'bus adapter (requesters: holon-orchestrator, holonctl)',
  },
  {
    code: 'HOLON_E_LEDGER_APPEND',
    meaning: "The ledger writer could not append to an owner's chain: another writer kept taking the next sequence, or the owner's tail is not a valid entry.",
    operatorAction: 'Make sure only one holon-orchestrator writes for this cell, then check the chain with `holonctl audit`.',
    raisedBy: 'bus adapter (ledger writer in holon-orchestrator)',
  },
  {
    code: 'HOLON_E_BUSY',
    meaning: 'A service already had its maximum number of requests in flight (64 by default), so this request was refused, not queued.',
    operatorAction: 'Retry later with backoff; if it persists, the service is overloaded or flooded, so look at who is sending.',
    raisedBy: 'bus adapter (every served subject of holon-orchestrator)',
  },
  {
    code: 'HOLON_E_REPLY_SUBJECT',
    meaning: "A verified request's reply subject is not under its sealer's own inbox prefix, so the handler did not run; the refusal went to `<that prefix>.refused`.",
    operatorAction: 'Client authors: connect with the inbox prefix `_INBOX.<hkey1… of the sealing key>` so replies land in your own inbox (docs/security.md).',
    raisedBy: 'bus adapter (every served subject of holon-orchestrator)',
  },
  {
    code: 'HOLON_E_NATS_CREDENTIALS',
    meaning:
      'An nkey seed, a permission subject or a creds file is unusable: a seed of the wrong kind (SO, SA, SU) or encoding, a permission that is not a NATS subject, a bad account key, name or JWT for the server config, or a creds file that already exists.',
    operatorAction: 'Restore or regenerate the named seed or file (`holonctl init` writes them under `nats/`); an existing creds file is never replaced, so move it away first.',
    raisedBy: 'bus adapter credentials (holonctl init and up; holon-orchestrator minting user JWTs for machines and holons)',
  },

  // --- isolation adapters ----------------------------------------------------------------------------
  {
    code: 'HOLON_E_ISOLATION',
    meaning:
      "The Linux isolation adapter (namespaces and cgroups) failed or refused; `kind` says which: refused (bad name, spec or path escape; nothing changed), not-found, state, command (ip, the unit init), system (cgroupfs, sysfs, procfs) or config (the host lacks what it needs); the message names the unit and step.",
    operatorAction:
      'Act on the kind and step: for config run the agent as root on a host with cgroups and network namespaces (docs/adapters/linux.md); for command or system read the stderr tail in the message.',
    raisedBy: 'agent (isolation: linux)',
  },
  {
    code: 'HOLON_E_ISOLATION_BASTILLE',
    meaning:
      'The FreeBSD Bastille adapter failed: a tool exited non-zero or timed out (command), is not installed (missing), reported success while the system shows otherwise (state), a request was refused before any call (refused), or an option is bad (config).',
    operatorAction:
      'Install what is missing (`pkg install bastille`), read the command and stderr tail in the message, and for rctl failures set `kern.racct.enable=1` in `/boot/loader.conf` and reboot (docs/adapters/bastille.md).',
    raisedBy: 'agent (isolation: bastille)',
  },
  {
    code: 'HOLON_E_ISOLATION_NOOP',
    meaning: 'The no-op isolation, which isolates nothing, was asked about a unit that does not exist, given an invalid unit name, or a path outside the unit root.',
    operatorAction: 'Only benchmarks and tests should use it: set `isolation` to `linux` or `bastille` for real units.',
    raisedBy: 'agent (isolation: noop)',
  },

  // --- the TPM adapter (adapters/tpm, tpm2-tools) ----------------------------------------------------
  {
    code: 'HOLON_E_TPM_TOOL',
    meaning: 'A tpm2-tools command exited non-zero or was killed at `toolTimeoutMs`; the message names the tool and its first stderr line.',
    operatorAction: "Check that the TPM is reachable (`/dev/tpmrm0` permissions, or the agent's `tpm.tcti`) and not in dictionary-attack lockout; run the named tool by hand to see the TPM's answer.",
    raisedBy: 'agent (TPM adapter)',
  },
  {
    code: 'HOLON_E_TPM_MISSING',
    meaning: 'A tpm2-tools binary is not installed (not on `$PATH`, or not in the configured binDir).',
    operatorAction: 'Install tpm2-tools (`apt-get install tpm2-tools`, `pkg install tpm2-tools`), or set the agent\'s `tpm.mode` to `off` for a software-only machine.',
    raisedBy: 'agent (TPM adapter)',
  },
  {
    code: 'HOLON_E_TPM_CONFIG',
    meaning: 'The TPM attestor was configured wrongly: a state dir that is not a directory, an AK algorithm that does not fit the EK in the state dir, an unknown PCR bank or unordered PCR indices, or qualifying data over 64 bytes.',
    operatorAction: "Fix the option the message names (holon-agent sets only the state dir, `<data_dir>/tpm`, and `tpm.tcti`); for an AK/EK algorithm mix, remove that state dir so the attestor provisions afresh.",
    raisedBy: 'agent (TPM adapter)',
  },
  {
    code: 'HOLON_E_TPM_STATE',
    meaning: 'The TPM answered, but not as asked: no AK in the state dir yet, an AK name on disk that does not match its public area, an NV index without a DER EK certificate, or a quote missing PCRs (bank not active).',
    operatorAction: "Activate the asked PCR bank, or remove the attestor's state dir so it provisions a new AK (the machine then attests with a new AK).",
    raisedBy: 'agent (TPM adapter)',
  },

  // --- host probes (adapters/probes) -----------------------------------------------------------------
  {
    code: 'HOLON_E_PROBE_FAILED',
    meaning: 'An essential host probe (os, cpu, memory) threw, timed out, or reported a fact its schema refuses, so the agent cannot build its platform report.',
    operatorAction: 'Fix what the message names on the host (e.g. a kernel host name that is not an RFC 1123 name), or find what makes the probe hang if it timed out.',
    raisedBy: 'agent (host probes)',
  },
  {
    code: 'HOLON_E_PROBE_CONFIG',
    meaning: 'The probe manager got a bad option: a data dir that is not absolute, bad labels or tools, or reserves that leave no CPU, memory or storage to offer.',
    operatorAction: "Fix the named option; from holon-agent that is its `labels` or `data_dir` (the other options exist for embedders of the probe manager).",
    raisedBy: 'agent (host probes)',
  },
  {
    code: 'HOLON_E_PROBE_REPORT',
    meaning: 'The merged host facts do not build a valid PlatformReportV1 or ResourceCapacityV1 (a required fact missing, or the report too large); the message names the probe that supplied the field.',
    operatorAction: 'Use fewer or shorter labels and tools; a custom probe set must include os, cpu and memory.',
    raisedBy: 'agent (host probes)',
  },
  {
    code: 'HOLON_E_PROBE_TIMEOUT',
    meaning: 'A host probe did not finish within its timeout; the manager turns it into a warning (optional probe) or HOLON_E_PROBE_FAILED (essential probe).',
    operatorAction: 'Find what hangs on the host (e.g. a stuck filesystem under the data dir, or a tool slow to print its `--version`); holon-agent uses the default timeouts (5 s per probe).',
    raisedBy: 'agent (host probes)',
  },

  // --- tenant secrets (adapters/secrets) -------------------------------------------------------------
  {
    code: 'HOLON_E_SECRETS',
    meaning:
      'A tenant secret store (a directory, or Vaultwarden through `bw`) refused; `reason` says why: invalid-tenant, config, escape, symlink, file-type, permissions, oversize, malformed, unreadable, session, locked, unauthenticated, server-mismatch, ambiguous, not-found, bw-missing, timeout or bw-failed.',
    operatorAction:
      'Act on the reason as the message says: chmod 700 buckets and 600 `.env` files, replace symlinks with real files, run `bw login` and write a fresh `bw unlock --raw` key to the session file, keep one vault item per tenant (docs/adapters/secrets.md).',
    raisedBy: 'agent (secret stores, when a unit has a tenant)',
  },
  {
    code: 'HOLON_E_SECRETS_DOTENV',
    meaning: 'A `.env` text is outside the supported grammar (the line is named), or secrets cannot be rendered as one; the value is never echoed.',
    operatorAction: 'Fix the named line: `NAME=value` with a valid variable name and the quoting described in docs/adapters/secrets.md.',
    raisedBy: 'agent (secret stores)',
  },
];

/** Every documented code, frozen. */
export const ERROR_CATALOGUE: readonly ErrorCatalogueEntry[] = Object.freeze(ENTRIES.map((e) => Object.freeze({ ...e })));

const BY_CODE: ReadonlyMap<string, ErrorCatalogueEntry> = new Map(ERROR_CATALOGUE.map((e) => [e.code, e]));

/** The catalogue entry of `code`, or undefined for a code that is not documented. */
export function describeErrorCode(code: string): ErrorCatalogueEntry | undefined {
  return BY_CODE.get(code);
}
