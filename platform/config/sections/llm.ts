import { z } from "zod";

/** Which language model phrases answers and (with assistant.understanding = llm) understands. */
export const llmConfigSchema = z
  .object({
    /** local: no model (templates and the offline engine); vertex: Gemini on Vertex AI; openai-compatible: Ollama, vLLM, llama.cpp, OpenAI. */
    provider: z.enum(["local", "vertex", "openai-compatible"]).default("local"),
  })
  .strict();

export type LlmConfig = z.infer<typeof llmConfigSchema>;
