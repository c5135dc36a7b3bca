import { z } from 'zod';
import { mustParse, type ResourceList } from '../quantity/index.js';
import { quantityField, resourceListField } from './fields.js';

/** SPEC §4: overcommit ratios applied to allocatable; a resource not listed gets 1. */
export const DEFAULT_OVERCOMMIT: ResourceList = Object.freeze({
  cpu: mustParse('1.5'),
  memory: mustParse('1.2'),
  storage: mustParse('1'),
  pods: mustParse('1'),
});

/** The part of the configuration the decision core reads. */
export const decisionConfigSchema = z.object({
  overcommit: z
    .record(z.string().min(1), quantityField)
    .default({})
    .transform((given): ResourceList => Object.freeze({ ...DEFAULT_OVERCOMMIT, ...given })),
  defaultQuota: z
    .object({
      enabled: z.boolean().default(false),
      hard: resourceListField.default({}),
      soft: resourceListField.default({}),
    })
    .prefault({}),
  /** How many alternative clusters a capacity denial suggests. */
  roomSuggestions: z.number().int().min(0).max(20).default(3),
});

export type DecisionConfig = z.output<typeof decisionConfigSchema>;
