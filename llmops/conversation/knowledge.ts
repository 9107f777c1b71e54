/**
 * What a knowledge answer is made of: the passages retrieval returns to the dialogue, the citations a
 * reply carries, and the extractive answer (llmops/agent/knowledge-answer.ts builds it). Types only, in
 * the bottom layer, so the guardrails and the observer read citations without importing the agent.
 */

export interface Passage {
  doc_id: string;
  chunk_id?: string;
  title: string;
  section: string;
  source: string;
  text: string;
  score: number;
}

export interface Citation {
  doc_id: string;
  title: string;
  section: string;
  source: string;
}

export interface KnowledgeAnswer {
  /** The quoted sentences, in passage then reading order. */
  sentences: string[];
  citations: Citation[];
}
