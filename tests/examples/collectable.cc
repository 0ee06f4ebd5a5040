// The README's prometheus-cpp example: a program that already serves
// prometheus-cpp metrics shows the merged directory beside its own registry
// (promdir::prometheus; with prometheus-cpp's Exposer, register both).
#include <promdir/directory.h>
#include <promdir/prometheus_collectable.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <iostream>

int main() {
  auto own = std::make_shared<prometheus::Registry>();
  prometheus::BuildCounter().Name("app_starts_total").Help("Starts")
      .Register(*own).Add({}).Increment();
  promdir::CollectorOptions options;
  options.directory = promdir::DirectoryFromEnvironment();
  auto dir = std::make_shared<promdir::DirectoryCollectable>(options);
  // exposer.RegisterCollectable(own); exposer.RegisterCollectable(dir);
  auto families = own->Collect();
  for (auto& f : dir->Collect()) families.push_back(std::move(f));
  std::cout << prometheus::TextSerializer().Serialize(families);
}
