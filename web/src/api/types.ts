// Names for the generated OpenAPI types (src/api/schema.d.ts, `npm run gen:api`).
// Aliases only: every shape comes from the spec.
import type { components } from './schema';

type S = components['schemas'];

export type Campaign = S['CampaignOut'];
export type CampaignBody = S['CampaignBody'];
export type CampaignPage = S['CampaignPage'];
export type CampaignStatus = S['CampaignStatus'];
export type Budget = S['Budget'];
export type Schedule = S['Schedule'];
export type Targeting = S['Targeting'];
export type Daypart = S['Daypart'];
export type FrequencyCap = S['FrequencyCap'];
export type CapPeriod = S['CapPeriod'];
export type CapScope = S['CapScope'];
export type CapWindow = S['CapWindow'];
export type Asset = S['AssetOut'];
export type AssetPage = S['AssetPage'];
export type Realtime = S['RealtimeOut'];
export type LivePoint = S['LivePointOut'];
export type Metrics = S['Metrics'];
export type Report = S['ReportOut'];
export type ReportRow = S['RowOut'];
export type Top = S['TopOut'];
export type Ranked = S['RankedOut'];
export type Role = S['Role'];
export type User = S['UserOut'];
export type UserList = S['UserList'];
export type NewUser = S['NewUser'];
export type IngestKey = S['KeyOut'];
export type KeyList = S['KeyList'];
export type KeyCreated = S['KeyCreated'];
export type NewKey = S['NewKey'];
export type FieldProblem = S['FieldProblem'];
export type ErrorBody = S['ErrorBody'];
export type SessionResponse = S['SessionOut'];
export type SessionUser = S['SessionUser'];
export type LoginRequest = S['LoginRequest'];
export type StreamUrl = S['StreamUrl'];
/** `GET /creatives` answers a page of the same shape as a campaign's listing. */
export type CreativePage = S['AssetPage'];
/** `GET /creatives?type=`: the sniffed image types. */
export type CreativeType = S['ImageType'];
export type AlertRule = S['RuleOut'];
export type AlertRuleBody = S['RuleBody'];
export type AlertRulePage = S['RulePage'];
export type AlertChannel = S['ChannelOut'];
export type AlertChannelBody = S['ChannelBody'];
export type AlertChannelList = S['ChannelList'];
export type AlertChannelKind = S['ChannelKind'];
export type AlertDelivery = S['DeliveryOut'];
export type AlertDeliveryDetail = S['DeliveryDetail'];
export type AlertDeliveryPage = S['DeliveryPage'];
export type AlertDeliveryStatus = S['DeliveryStatus'];
export type AlertAttempt = S['Attempt'];
export type AlertFiring = S['FiringOut'];
export type AlertFiringPage = S['FiringPage'];
