import type { z } from "zod";
import type { trainingConfigSchema } from "../../platform/config/sections/training.ts";

/** The validated `training` config section. */
export type TrainingConfig = z.infer<typeof trainingConfigSchema>;
