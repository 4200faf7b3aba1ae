/**
 * bus-schemas/merkle: RFC 6962 Merkle trees, proofs and multiproofs — pure
 * (node:crypto SHA-256, no I/O). The public names, and only those.
 */
export { HASH_SIZE, emptyRootHash, equalHashes, hashFromHex, hashToHex, leafHash, nodeHash, rootHash } from './hashing.js';
export { MerkleProofError, MerkleRequestError, MerkleStoreError, type MerkleProofKind } from './merkle-errors.js';
export { subtreeHash, treeRootAt, type MerkleNodeSource } from './node-source.js';
export { MemoryHashStore, type MerkleHashStore } from './hash-store.js';
export { MerkleFrontier } from './frontier.js';
export { MerkleLog } from './merkle-log.js';
export { inclusionProof, rootFromInclusionProof, verifyInclusion } from './inclusion-proof.js';
export { consistencyProof, verifyConsistency } from './consistency-proof.js';
export { multiProof, multiProofLength, verifyMultiProof } from './multiproof.js';
export { makeReceiptMultiProof, verifyReceiptMultiProof, type ReceiptMultiProofInput } from './receipt-proof.js';
export { consistencyProofLength, inclusionProofLength, storedHashCount, storedHashIndex } from './tree-math.js';
