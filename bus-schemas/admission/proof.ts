/**
 * Both halves of the admission proof, whichever kind the cell asks for:
 * `admissionSteps` / `solveAdmission` (the agent) and `verifyAdmission` (the
 * cell). A proof of the other kind than the one required is refused naming
 * the `kind` field, before any arithmetic.
 */
import type { PublicKeyIdV1 } from '../ids.js';
import { AdmissionError, hashcashSteps, runSteps, verifyHashcash, type HashcashProof } from './hashcash.js';
import type { AdmissionRequirement } from './requirement.js';
import { verifyVdf, vdfSteps, type VdfProof } from './vdf.js';

export type AdmissionProof = HashcashProof | VdfProof;

export function proofKind(proof: AdmissionProof): 'hashcash' | 'vdf' {
  return proof.kind === 'vdf' ? 'vdf' : 'hashcash';
}

/** Solve as a step generator (yields every few thousand hashes or squarings). */
export function admissionSteps(machine: PublicKeyIdV1, required: AdmissionRequirement): Generator<void, AdmissionProof> {
  return required.kind === 'vdf' ? vdfSteps(machine, required.epoch, required.iterations) : hashcashSteps(machine, required.epoch, required.difficulty);
}

export function solveAdmission(machine: PublicKeyIdV1, required: AdmissionRequirement): AdmissionProof {
  return runSteps(admissionSteps(machine, required));
}

/** Throws AdmissionError (with the proof field at fault in `path`) unless `proof` meets `required` for `machine`. */
export function verifyAdmission(machine: PublicKeyIdV1, proof: AdmissionProof, required: AdmissionRequirement): void {
  const kind = proofKind(proof);
  if (kind !== required.kind) throw new AdmissionError(`this cell requires a ${required.kind} proof, the hello carries a ${kind} proof`, '.kind');
  if (proof.kind === 'vdf') verifyVdf(machine, proof, required as Extract<AdmissionRequirement, { kind: 'vdf' }>);
  else verifyHashcash(machine, proof, required as Extract<AdmissionRequirement, { kind: 'hashcash' }>);
}
