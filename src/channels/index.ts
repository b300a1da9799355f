/**
 * Channels: the configuration syntax, the channel tree, the pure scheduler and the "why is it waiting"
 * explanation. See `docs/channels.md`.
 * @module
 */
export { type ChannelSpec, ROOT_CHANNEL, parseChannels, formatChannels, normalizeChannelName } from './parse.ts';
export { type ChannelNode, ChannelTree } from './tree.ts';
export { type ChannelPausesApi, type ChannelPause, channelPausesApi } from './pauses.ts';
export {
  type ChannelSnapshot,
  type FetchPlan,
  type Candidate,
  type PickResult,
  type ClaimGuess,
  planFetch,
  pickJobs,
  compareCandidates,
  guessClaim,
  guessLimit,
} from './scheduler.ts';
export { type WaitingJob, type ExplainOptions, explainWaiting, formatDelay, formatInterval } from './explain.ts';
