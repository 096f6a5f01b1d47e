export function TopCampaignsPage() {
  return <h1>TopCampaignsPage</h1>;
}
