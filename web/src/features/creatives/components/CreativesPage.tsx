export function CreativesPage() {
  return <h1>CreativesPage</h1>;
}
