import { Link } from 'react-router';
import type { AlertRule } from '../../../api/types';

/** Which campaigns a rule watches, for people. */
export function ScopeText({ rule, campaignName }: { rule: AlertRule; campaignName: (id: string) => string | undefined }) {
  if (rule.campaign_id) {
    return (
      <>
        Campaign <Link to={`/campaigns/${rule.campaign_id}`}>{campaignName(rule.campaign_id) ?? rule.campaign_id}</Link>
      </>
    );
  }
  if (rule.brand_id) return <>Brand {rule.brand_id}</>;
  return <>Every campaign</>;
}
